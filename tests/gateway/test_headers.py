"""Headers every response carries, whatever produced it."""

from __future__ import annotations

from aiohttp import ClientResponse

from tests.conftest import Api

SECURITY = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}


def assert_security_headers(response: ClientResponse) -> None:
    for name, value in SECURITY.items():
        assert response.headers.get(name) == value, (response.url, name)
    assert response.headers.get("X-Request-ID")


async def responses_of_every_kind(api: Api) -> list[ClientResponse]:
    user = await api.register()
    return [
        await api.client.get("/health"),
        await api.client.get("/ready"),
        await api.client.get("/metrics"),
        await api.client.get("/no/such/thing"),
        await api.client.put("/health"),
        await api.client.get("/api/auth/me", headers=user.headers),
        await api.client.get("/api/customers/me", headers=user.headers),
        await api.client.get("/api/customers/me"),
        await api.client.get("/api/customers", headers=user.headers),
        await api.client.get("/api/customers/424242", headers=user.headers),
        await api.client.get("/api/nothing"),
        await api.client.post("/api/auth/login", data=b"{", headers={"Content-Type": "application/json"}),
        await api.client.post("/api/auth/login", data=b"x", headers={"Content-Type": "text/plain"}),
        await api.client.options(
            "/api/auth/login",
            headers={"Origin": "http://127.0.0.1:8080", "Access-Control-Request-Method": "POST"},
        ),
    ]


async def test_security_headers_on_every_response(api: Api) -> None:
    for response in await responses_of_every_kind(api):
        assert_security_headers(response)


async def test_api_responses_are_not_cached(api: Api) -> None:
    for response in await responses_of_every_kind(api):
        if response.url.path.startswith("/api/"):
            assert response.headers.get("Cache-Control") == "no-store", (response.url, response.status)


async def test_json_responses_say_utf8_json(api: Api) -> None:
    user = await api.register()
    response = await api.client.get("/api/auth/me", headers=user.headers)
    assert response.content_type == "application/json"
    assert response.charset in (None, "utf-8")


RATE_LIMIT = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")


async def test_the_fast_path_sets_every_header(api: Api) -> None:
    # No token, a public route: the gateway does no JWT work, and still owes every header.
    response = await api.client.get("/api/products/1", headers={"X-Request-ID": "fast-1"})
    assert response.status == 200
    assert_security_headers(response)
    assert response.headers["X-Request-ID"] == "fast-1"
    assert response.headers["Cache-Control"] == "no-store"
    assert all(name in response.headers for name in RATE_LIMIT)
    assert "WWW-Authenticate" not in response.headers


async def test_an_event_stream_carries_the_headers(api: Api) -> None:
    # Streamed: its headers go out before the handler returns, so the middleware cannot set them.
    user = await api.register()
    async with api.client.get("/api/orders/events", headers={**user.headers, "X-Request-ID": "stream-1"}) as response:
        assert response.status == 200 and response.content_type == "text/event-stream"
        assert_security_headers(response)
        assert response.headers["X-Request-ID"] == "stream-1"
        assert response.headers["Cache-Control"] == "no-store"
        assert all(name in response.headers for name in RATE_LIMIT)


async def test_the_storefront_is_revalidated_and_carries_the_headers(api: Api) -> None:
    # The page and its modules change with every release: kept, but asked for again each time.
    for path in ("/", "/static/js/api.js", "/static/favicon.svg"):
        response = await api.client.get(path)
        assert response.status == 200, path
        assert response.headers["Cache-Control"] == "no-cache", path
        assert_security_headers(response)
    assert (await api.client.get("/static/js/api.js", headers={"Origin": "http://127.0.0.1:8080"})).headers[
        "Cache-Control"
    ] == "no-cache"
