"""Service-to-service calls over HTTP (shop/registry.py's RemoteEndpoint): only idempotent
calls are sent again after a lost answer (once), and a service known to be down fails fast."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from shop.errors import ServiceUnavailable
from shop.registry import SERVICE_TOKEN_HEADER, Registry
from shop.services.products.client import PRODUCTS

TOKEN = "service-token-" + "t" * 30


@asynccontextmanager
async def hang_up_server() -> AsyncIterator[tuple[str, list[bytes]]]:
    """Reads each request's head, then closes the connection without an answer (a process
    that died mid-request). Yields its URL and the request heads it got."""
    heads: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            heads.append(await reader.readuntil(b"\r\n\r\n"))
        except asyncio.IncompleteReadError:
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", heads
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def registry() -> AsyncIterator[Registry]:
    registry = Registry(TOKEN, request_timeout=5)
    await registry.start()
    yield registry
    await registry.close()


@pytest.mark.parametrize(("method", "sent"), [("GET", 2), ("PUT", 2), ("DELETE", 2), ("POST", 1), ("PATCH", 1)])
async def test_only_idempotent_calls_are_sent_again(registry: Registry, method: str, sent: int) -> None:
    async with hang_up_server() as (url, heads):
        registry.register_remote(PRODUCTS, url)
        with pytest.raises(ServiceUnavailable):
            await registry.endpoint("products").call(method, "/internal/products/reservations/r1", json={})
    assert [head.split(b" ")[0].decode() for head in heads] == [method] * sent
    assert all(f"{SERVICE_TOKEN_HEADER}: {TOKEN}".encode() in head for head in heads)
    assert registry.is_healthy("products") is False


async def test_a_service_known_to_be_down_gets_a_ping_not_the_call(registry: Registry) -> None:
    async with hang_up_server() as (url, heads):
        registry.register_remote(PRODUCTS, url)
        registry.mark("products", False)
        with pytest.raises(ServiceUnavailable):
            await registry.endpoint("products").call("POST", "/internal/products/reservations", json={})
    assert heads and all(head.startswith(b"GET /health ") for head in heads)
