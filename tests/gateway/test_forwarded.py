"""A service process trusts X-Forwarded-For only from a caller holding the service
credential, and does not rate-limit what the gateway forwarded (the gateway did)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from shop.app import create_app
from shop.registry import SERVICE_TOKEN_HEADER
from tests.assertions import problem
from tests.conftest import make_config

SERVICE_TOKEN = make_config(Path("unused")).internal.service_token
BURST = 2

ClientFactory = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def products(aiohttp_client: ClientFactory, tmp_path: Path) -> TestClient:
    """A process running only products, with a tiny rate limit and no refill to speak of."""
    cfg = make_config(tmp_path / "data", gateway={"rate_limit_per_second": 0.001, "rate_limit_burst": BURST})
    return await aiohttp_client(create_app(cfg, ["products"]))


async def test_a_client_cannot_escape_the_rate_limit_by_naming_another_address(products: TestClient) -> None:
    for address in ("10.0.0.1", "10.0.0.2"):
        response = await products.get("/api/products", headers={"X-Forwarded-For": address})
        assert response.status == 200
    response = await products.get("/api/products", headers={"X-Forwarded-For": "10.0.0.3"})
    await problem(response, 429)


async def test_forwarded_requests_are_not_limited_again(products: TestClient) -> None:
    headers = {SERVICE_TOKEN_HEADER: SERVICE_TOKEN, "X-Forwarded-For": "10.0.0.1"}
    for _ in range(BURST * 3):
        response = await products.get("/api/products", headers=headers)
        assert response.status == 200
        assert "RateLimit-Limit" not in response.headers


async def test_a_wrong_service_credential_is_refused(products: TestClient) -> None:
    response = await products.get("/api/products", headers={SERVICE_TOKEN_HEADER: "wrong-" + "z" * 40})
    await problem(response, 401)


async def test_the_access_log_names_the_client_the_gateway_vouched_for(
    products: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="shop.access"):
        forwarded = {SERVICE_TOKEN_HEADER: SERVICE_TOKEN, "X-Forwarded-For": "10.1.2.3"}
        await products.get("/api/products", headers=forwarded)
        await products.get("/api/products", headers={"X-Forwarded-For": "10.9.9.9"})
        # Not an address: not believed, even with the credential.
        await products.get("/api/products", headers={SERVICE_TOKEN_HEADER: SERVICE_TOKEN, "X-Forwarded-For": "evil"})
    remotes = [record.remote for record in caplog.records if record.name == "shop.access"]  # type: ignore[attr-defined]
    assert remotes == ["10.1.2.3", "127.0.0.1", "127.0.0.1"], json.dumps(remotes)


@pytest.mark.parametrize("header", [SERVICE_TOKEN_HEADER, "Authorization"])
async def test_a_credential_that_is_not_utf8_is_a_401_not_a_500(products: TestClient, header: str) -> None:
    # Raw bytes: a client library would refuse to send them.
    reader, writer = await asyncio.open_connection("127.0.0.1", products.port)
    writer.write(
        b"GET /api/products/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        + header.encode()
        + b": Bearer \xff\xfe-not-utf8\r\n\r\n"
    )
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    if header == "Authorization":  # a token the catalogue cannot use: served as anonymous (issue 9)
        assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
        return
    assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]
    assert b"application/problem+json" in answer
