"""The gateway forwarding the public routes of remote services (shop/gateway/proxy.py).

Upstreams are real servers on loopback: one that records what it receives and answers as a
test tells it, one that accepts connections and never answers, one that answers garbage,
none at all (a free port), and a real products service in its own app."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from multidict import CIMultiDictProxy

from shop.app import create_app
from shop.registry import SERVICE_TOKEN_HEADER
from tests.assertions import problem
from tests.conftest import Api, MakeApi, make_config
from tests.waiting import read_sse

SERVICE_TOKEN = make_config(Path("unused")).internal.service_token
UPSTREAM_TIMEOUT = 0.5
MAX_BODY = 4096
# A client-side bound for every request: a gateway that hangs fails the test, quickly.
CLIENT_DEADLINE = aiohttp.ClientTimeout(total=10)
BIG_CHUNK = b"x" * 65536

ServerFactory = Callable[..., Awaitable[TestServer]]


@dataclass
class Seen:
    method: str
    raw_path: str  # with the query string, exactly as it arrived
    headers: CIMultiDictProxy[str]
    body: bytes


@dataclass
class Upstream:
    """A stand-in service process: records each request, answers as the path says."""

    server: TestServer
    seen: list[Seen] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)  # the event stream's 2nd event

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")


async def start_upstream(aiohttp_server: ServerFactory) -> Upstream:
    upstream: Upstream

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def anything(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        upstream.seen.append(Seen(request.method, request.raw_path, request.headers, body))
        if request.path.endswith("/events"):
            return await events(request)
        if request.method == "GET" and request.path == "/api/products":
            response = web.StreamResponse(headers={"Content-Type": "application/json", "X-Total-Count": "3"})
            await response.prepare(request)
            for _ in range(3):
                await response.write(BIG_CHUNK)
            return response
        return web.json_response(
            {"method": request.method, "length": len(body)},
            status=201,
            headers={
                "Location": "/api/products/99",
                "X-Request-ID": "the-upstream-s-own",  # the gateway's is the one a client sees
                "Access-Control-Allow-Origin": "*",  # CORS is the gateway's business
            },
        )

    async def events(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
        await response.prepare(request)
        await response.write(b'event: status\nid: 1\ndata: {"id": 7, "status": "Created"}\n\n')
        await upstream.release.wait()
        await response.write(b'event: status\nid: 2\ndata: {"id": 7, "status": "Dispatched"}\n\n')
        return response

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_route("*", "/{tail:.*}", anything)
    upstream = Upstream(await aiohttp_server(app))
    return upstream


@pytest.fixture
async def upstream(aiohttp_server: ServerFactory) -> AsyncIterator[Upstream]:
    up = await start_upstream(aiohttp_server)
    yield up
    up.release.set()  # no handler left waiting when the server closes


async def gateway_to(make_api: MakeApi, url: str, tmp_path: Path, **sections: dict[str, object]) -> Api:
    """A shop whose products and orders run at `url` (the dispatcher is off: it would need
    Kafka with orders elsewhere)."""
    return await make_api(
        data_dir=tmp_path / "gateway",
        services={"products": {"url": url}, "orders": {"url": url}},
        dispatcher={"enabled": False},
        gateway={"upstream_timeout_seconds": UPSTREAM_TIMEOUT, "max_body_bytes": MAX_BODY},
        **sections,
    )


@pytest.fixture
async def gateway(make_api: MakeApi, upstream: Upstream, tmp_path: Path) -> Api:
    return await gateway_to(make_api, upstream.url, tmp_path)


@asynccontextmanager
async def raw_server(answer: bytes | None) -> AsyncIterator[str]:
    """A TCP server that accepts every connection, then writes `answer` and closes, or
    (None) holds the connection and never says a word."""
    held: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        if answer is not None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(answer)
            await writer.drain()
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        for writer in held:
            writer.close()
        await server.wait_closed()


async def raw_status(port: int, method: str, target: str, headers: str = "") -> int:
    """Send a request line exactly as written (no client library tidies the path)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{headers}"
            "Content-Length: 0\r\n\r\n".encode()
        )
        status_line = await asyncio.wait_for(reader.readline(), 10)
    finally:
        writer.close()
    return int(status_line.split()[1])


# -- what is forwarded ------------------------------------------------------------------------


async def test_a_request_goes_upstream_with_its_body_query_and_headers(gateway: Api, upstream: Upstream) -> None:
    admin = await gateway.admin()
    body = json.dumps({"name": "Lamp", "price": 10}).encode()
    response = await gateway.client.post(
        "/api/products?b=%20x&a=1",
        data=body,
        headers={
            **admin.headers,
            "Content-Type": "application/json",
            "Idempotency-Key": "key-1",
            "X-Request-ID": "req-123",
            "X-Forwarded-For": "6.6.6.6",  # a client cannot choose the address it is known by
            "Cookie": "session=secret",
        },
        timeout=CLIENT_DEADLINE,
    )
    assert response.status == 201, await response.text()
    assert await response.json() == {"method": "POST", "length": len(body)}
    assert response.headers["Location"] == "/api/products/99"
    assert response.headers["X-Request-ID"] == "req-123"
    assert "Access-Control-Allow-Origin" not in response.headers
    assert response.headers["RateLimit-Limit"]  # limited here, once

    [seen] = upstream.seen
    assert (seen.method, seen.raw_path, seen.body) == ("POST", "/api/products?b=%20x&a=1", body)
    assert seen.headers[SERVICE_TOKEN_HEADER] == SERVICE_TOKEN
    assert seen.headers["X-Forwarded-For"] == "127.0.0.1"
    assert seen.headers["X-Request-ID"] == "req-123"
    assert seen.headers["Idempotency-Key"] == "key-1"
    assert seen.headers["Authorization"] == admin.headers["Authorization"]
    assert seen.headers["Content-Type"] == "application/json"
    assert "Cookie" not in seen.headers


async def test_a_chunked_body_is_streamed_up_to_the_limit(gateway: Api, upstream: Upstream) -> None:
    admin = await gateway.admin()

    async def chunks(n: int) -> AsyncIterator[bytes]:
        yield b'{"padding": "'
        for _ in range(n):
            yield b"y" * 1000
        yield b'"}'

    headers = {**admin.headers, "Content-Type": "application/json"}
    response = await gateway.client.post("/api/products", data=chunks(3), headers=headers, timeout=CLIENT_DEADLINE)
    assert response.status == 201, await response.text()
    assert len(upstream.seen[0].body) == 3000 + len(b'{"padding": ""}')
    assert "Content-Length" not in upstream.seen[0].headers  # streamed, not gathered first

    too_big = await gateway.client.post("/api/products", data=chunks(6), headers=headers, timeout=CLIENT_DEADLINE)
    await problem(too_big, 413)
    assert len(upstream.seen) == 1  # the remote never got a (truncated) second request


async def test_a_large_answer_is_streamed_back_whole(gateway: Api) -> None:
    response = await gateway.client.get("/api/products", timeout=CLIENT_DEADLINE)
    assert response.status == 200
    assert response.headers["X-Total-Count"] == "3"
    assert await response.read() == BIG_CHUNK * 3


async def test_events_stream_through_as_they_happen_without_a_read_timeout(gateway: Api, upstream: Upstream) -> None:
    user = await gateway.register()
    async with gateway.client.get(
        "/api/orders/7/events", headers={**user.headers, "Last-Event-ID": "0"}, timeout=aiohttp.ClientTimeout(total=30)
    ) as response:
        assert response.status == 200
        assert response.content_type == "text/event-stream"
        first = await read_sse(response, lambda events: len(events) == 1, timeout=10)
        assert first[0]["data"]["status"] == "Created"  # while the remote still holds the stream
        # Quiet for longer than the gateway's upstream timeout: an event stream must survive
        # that (this sleep lets time pass on purpose; it waits for nothing).
        await asyncio.sleep(UPSTREAM_TIMEOUT * 3)
        upstream.release.set()
        second = await read_sse(response, lambda events: len(events) == 1, timeout=10)
        assert second[0]["data"]["status"] == "Dispatched" and second[0]["id"] == "2"
    assert upstream.seen[0].headers["Last-Event-ID"] == "0"


async def test_stopping_the_gateway_ends_its_forwarded_event_streams(gateway: Api) -> None:
    user = await gateway.register()
    async with aiohttp.ClientSession(timeout=CLIENT_DEADLINE) as session:
        url = gateway.client.make_url("/api/orders/7/events")
        async with session.get(url, headers=user.headers) as response:
            assert response.status == 200
            await read_sse(response, lambda events: len(events) == 1, timeout=10)
            # The remote keeps its stream open; stopping the gateway ends the client's stream
            # cleanly (an EventSource reconnects) instead of waiting for it or cutting it off.
            stopping = asyncio.create_task(gateway.client.server.close())
            assert await asyncio.wait_for(response.content.read(), 10) == b""
            await asyncio.wait_for(stopping, 10)


# -- a remote that is down, slow or broken --------------------------------------------------------


async def test_a_remote_that_never_answers_gives_504_within_the_timeout(make_api: MakeApi, tmp_path: Path) -> None:
    async with raw_server(None) as url:
        api = await gateway_to(make_api, url, tmp_path)
        response = await api.client.get("/api/products", timeout=CLIENT_DEADLINE)
        body = await problem(response, 504)
        assert "products" in body["detail"]


async def test_a_remote_that_answers_garbage_gives_502(make_api: MakeApi, tmp_path: Path) -> None:
    async with raw_server(b"this is not HTTP\r\n\r\n") as url:
        api = await gateway_to(make_api, url, tmp_path)
        response = await api.client.get("/api/products/1", timeout=CLIENT_DEADLINE)
        await problem(response, 502)


async def test_a_remote_that_is_down_gives_503_and_is_marked_down(
    make_api: MakeApi, tmp_path: Path, unused_tcp_port: int
) -> None:
    api = await gateway_to(make_api, f"http://127.0.0.1:{unused_tcp_port}", tmp_path)
    for _ in range(2):  # the second fails fast: the registry knows it is down
        response = await api.client.get("/api/products", timeout=CLIENT_DEADLINE)
        body = await problem(response, 503)
        assert "products" in body["detail"]
    admin = await api.admin()
    entries = await (await api.client.get("/api/registry", headers=admin.headers)).json()
    products = next(entry for entry in entries if entry["name"] == "products")
    assert products["location"] == f"http://127.0.0.1:{unused_tcp_port}" and products["healthy"] is False


# -- what is never forwarded ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("GET", "/internal/products?ids=1"),
        ("POST", "/internal/products/reservations"),
        ("GET", "/internal/orders/1"),
        ("GET", "/api/products/../../internal/products"),
        ("GET", "/api/products/%2E%2E%2F%2E%2E%2Finternal%2Fproducts"),
        ("GET", "/api/products/.."),
        ("GET", "/api/products/%2e%2e"),
        ("POST", "/api/orders/%2e%2e/cancel"),
        ("GET", "/api/orders/1%2Fevents"),
    ],
)
async def test_internal_routes_and_path_tricks_are_not_forwarded(
    gateway: Api, upstream: Upstream, method: str, target: str
) -> None:
    assert await raw_status(gateway.client.port, method, target) == 404
    assert upstream.seen == []


async def test_a_client_cannot_pose_as_a_service(gateway: Api, upstream: Upstream) -> None:
    response = await gateway.client.get(
        "/api/products", headers={SERVICE_TOKEN_HEADER: "guessed-" + "z" * 40}, timeout=CLIENT_DEADLINE
    )
    await problem(response, 401)
    assert upstream.seen == []


async def test_unknown_routes_methods_and_preflights_are_answered_by_the_gateway(
    gateway: Api, upstream: Upstream
) -> None:
    await problem(await gateway.client.delete("/api/products"), 405)
    await problem(await gateway.client.get("/api/products/1/reviews"), 404)
    preflight = await gateway.client.options(
        "/api/orders",
        headers={
            "Origin": "http://localhost:8080",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type, Idempotency-Key",
        },
    )
    assert preflight.status == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://localhost:8080"
    assert upstream.seen == []


async def test_the_gateway_documents_remote_services_as_if_they_were_local(
    make_api: MakeApi, gateway: Api, tmp_path: Path
) -> None:
    one_process = await make_api(data_dir=tmp_path / "one", dispatcher={"enabled": False})
    local_doc = await (await one_process.client.get("/api/openapi.json")).json()
    gateway_doc = await (await gateway.client.get("/api/openapi.json")).json()
    assert "/api/orders/{order_id}/events" in gateway_doc["paths"]
    assert gateway_doc["paths"] == local_doc["paths"]


# -- against a real service process ---------------------------------------------------------------


@pytest.fixture
async def products_server(aiohttp_server: ServerFactory, tmp_path: Path) -> TestServer:
    return await aiohttp_server(create_app(make_config(tmp_path / "products"), ["products"]))


async def test_a_real_products_service_behind_the_gateway(
    make_api: MakeApi, products_server: TestServer, tmp_path: Path
) -> None:
    url = str(products_server.make_url("")).rstrip("/")
    api = await make_api(data_dir=tmp_path / "gateway", services={"products": {"url": url}})
    listed = await api.client.get("/api/products?limit=5&sort=price", timeout=CLIENT_DEADLINE)
    assert listed.status == 200
    assert listed.headers["X-Total-Count"] == "20" and 'rel="next"' in listed.headers["Link"]
    assert [p["price"] for p in await listed.json()] == sorted(p["price"] for p in await listed.json())

    admin = await api.admin()
    product = {"name": "Desk Lamp", "price": 19.99, "currency": "USD", "stock_quantity": 3, "sku": "LAMP-1"}
    created = await api.client.post("/api/products", json=product, headers=admin.headers, timeout=CLIENT_DEADLINE)
    assert created.status == 201, await created.text()
    assert created.headers["Location"].startswith("/api/products/")
    # The remote's own errors come back as they are: problem documents with the gateway's id.
    duplicate = await api.client.post(
        "/api/products", json=product, headers={**admin.headers, "X-Request-ID": "dup-1"}, timeout=CLIENT_DEADLINE
    )
    body = await problem(duplicate, 409)
    assert body["request_id"] == "dup-1"
    await problem(await api.client.post("/api/products", json=product, timeout=CLIENT_DEADLINE), 401)

    # An order placed at the gateway reserves stock in the remote products service.
    user = await api.register()
    order = await api.client.post(
        "/api/orders", json={"items": [{"product_id": 1, "quantity": 2}]}, headers=user.headers
    )
    assert order.status == 201, await order.text()


@pytest.mark.parametrize("token", [None, "", "wrong-" + "z" * 40])
async def test_a_remote_service_refuses_internal_calls_without_the_credential(
    products_server: TestServer, token: str | None
) -> None:
    headers = {} if token is None else {SERVICE_TOKEN_HEADER: token}
    async with aiohttp.ClientSession(timeout=CLIENT_DEADLINE) as session:
        async with session.get(products_server.make_url("/internal/products?ids=1"), headers=headers) as response:
            assert response.status == 401
            assert response.content_type == "application/problem+json"
        async with session.post(
            products_server.make_url("/internal/products/reservations"),
            json={"reservation_id": "a" * 32, "lines": [{"product_id": 1, "quantity": 1}]},
            headers=headers,
        ) as response:
            assert response.status == 401
        async with session.get(
            products_server.make_url("/internal/products?ids=1"), headers={SERVICE_TOKEN_HEADER: SERVICE_TOKEN}
        ) as response:
            assert response.status == 200
