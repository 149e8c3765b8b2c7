"""What the gateway answers for bad requests: every error is a problem document whose
request_id is the response's X-Request-ID."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.assertions import problem
from tests.conftest import Api, MakeApi

LIMIT = 2048


def big_register_body(size: int) -> bytes:
    padding = "x" * size
    return (
        f'{{"name": "Ann", "email": "ann@example.com", "password": "password-123", "interests": "{padding}"}}'.encode()
    )


async def test_body_over_the_limit_with_content_length_is_413(make_api: MakeApi) -> None:
    api = await make_api(gateway={"max_body_bytes": LIMIT})
    body = big_register_body(LIMIT)
    response = await api.client.post("/api/auth/register", data=body, headers={"Content-Type": "application/json"})
    assert response.request_info.headers["Content-Length"] == str(len(body))
    await problem(response, 413)
    login = await api.client.post("/api/auth/login", json={"email": "ann@example.com", "password": "password-123"})
    await problem(login, 401)  # nothing was registered


async def test_chunked_body_over_the_limit_is_413(make_api: MakeApi) -> None:
    api = await make_api(gateway={"max_body_bytes": LIMIT})
    body = big_register_body(LIMIT)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 512):
            yield body[start : start + 512]

    response = await api.client.post("/api/auth/register", data=chunks(), headers={"Content-Type": "application/json"})
    assert response.request_info.headers.get("Transfer-Encoding") == "chunked"
    await problem(response, 413)


async def test_body_just_under_the_limit_is_accepted(make_api: MakeApi) -> None:
    api = await make_api(gateway={"max_body_bytes": LIMIT})
    body = big_register_body(400)  # interests allows 500 characters
    assert len(body) < LIMIT
    response = await api.client.post("/api/auth/register", data=body, headers={"Content-Type": "application/json"})
    assert response.status == 201


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"email=a@b.co&password=x", "application/x-www-form-urlencoded"),
        (b'{"email": "a@b.co", "password": "x"}', "text/plain"),
        (b"<login/>", "application/xml"),
    ],
)
async def test_non_json_body_is_415(api: Api, data: bytes, content_type: str) -> None:
    response = await api.client.post("/api/auth/login", data=data, headers={"Content-Type": content_type})
    await problem(response, 415)


async def test_json_with_charset_and_problem_json_are_json(api: Api) -> None:
    await api.register(email="ann@example.com")
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = await api.client.post(
            "/api/auth/login",
            data=b'{"email": "ann@example.com", "password": "password-123"}',
            headers={"Content-Type": content_type},
        )
        assert response.status == 200, content_type


@pytest.mark.parametrize("data", [b"{not json", b'{"email": ', b"", b"   ", b"\xff\xfe{}"])
async def test_malformed_json_is_400(api: Api, data: bytes) -> None:
    response = await api.client.post("/api/auth/login", data=data, headers={"Content-Type": "application/json"})
    await problem(response, 400)


@pytest.mark.parametrize("path", ["/no/such/thing", "/api/nothing-here", "/api/customers/1/orders", "/api/auth"])
async def test_unknown_route_is_404_problem(api: Api, path: str) -> None:
    await problem(await api.client.get(path), 404)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/api/auth/login", "POST"),
        ("GET", "/api/auth/register", "POST"),
        ("POST", "/api/auth/me", "GET"),
        ("PUT", "/health", "GET"),
        ("DELETE", "/api/customers", "GET"),
    ],
)
async def test_wrong_method_is_405_problem_with_allow(api: Api, method: str, path: str, allowed: str) -> None:
    response = await api.client.request(method, path, json={})
    await problem(response, 405)
    assert allowed in {m.strip() for m in response.headers["Allow"].split(",")}


async def test_a_sane_client_request_id_is_echoed(api: Api) -> None:
    sent = "client-1234.abcd:EF_gh"
    response = await api.client.get("/health", headers={"X-Request-ID": sent})
    assert response.headers["X-Request-ID"] == sent
    response = await api.client.get("/api/customers/me", headers={"X-Request-ID": sent})
    assert (await problem(response, 401))["request_id"] == sent


@pytest.mark.parametrize("sent", ["x" * 200, "has spaces in it", "semi;colon", 'quote"d', "üñí"])
async def test_an_insane_client_request_id_is_replaced(api: Api, sent: str) -> None:
    response = await api.client.get("/api/customers/me", headers={"X-Request-ID": sent})
    body = await problem(response, 401)
    assert response.headers["X-Request-ID"] != sent
    assert len(response.headers["X-Request-ID"]) == 32 and body["request_id"] == response.headers["X-Request-ID"]


async def test_every_response_gets_a_fresh_request_id(api: Api) -> None:
    ids = {(await api.client.get("/health")).headers["X-Request-ID"] for _ in range(5)}
    assert len(ids) == 5


async def test_validation_errors_list_loc_and_msg(api: Api) -> None:
    response = await api.client.post(
        "/api/auth/register", json={"name": "A", "email": "bad", "password": "x", "role": "admin"}
    )
    body = await problem(response, 422)
    by_field = {tuple(e["loc"]): e["msg"] for e in body["errors"]}
    assert set(by_field) == {("email",), ("password",), ("role",)}
    assert by_field[("role",)] == "unknown or read-only field"


async def test_problem_documents_reveal_nothing_internal(api: Api) -> None:
    response = await api.client.post("/api/auth/login", data=b"{", headers={"Content-Type": "application/json"})
    text = await response.text()
    for leak in ("Traceback", "sqlite", "SELECT", 'File "', ".py"):
        assert leak not in text


@pytest.mark.parametrize(
    "data",
    [
        b'{"email": ' + b"1" * 5000 + b', "password": "x"}',  # beyond Python's int-parsing limit
        b"[" * 100_000 + b"]" * 100_000,  # deeper than the parser's recursion limit
        b'{"email": "a@b.co", "password": NaN}',  # not JSON, though Python's parser accepts it
        b'{"email": "a@b.co", "password": Infinity}',
    ],
    ids=["huge-integer", "deep-nesting", "nan", "infinity"],
)
async def test_hostile_json_is_400_not_500(api: Api, data: bytes) -> None:
    response = await api.client.post("/api/auth/login", data=data, headers={"Content-Type": "application/json"})
    await problem(response, 400)


async def test_an_unexpected_error_is_a_bare_500_logged_with_its_request_id(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from shop.services.auth.store import UserStore

    async def broken(self: UserStore, email: str) -> None:
        raise RuntimeError("internal detail: /var/lib/secret.db")

    monkeypatch.setattr(UserStore, "find_login", broken)
    response = await api.client.post("/api/auth/login", json={"email": "a@b.co", "password": "password-1"})
    body = await problem(response, 500)
    assert "internal detail" not in await response.text() and "RuntimeError" not in await response.text()
    logged = [r for r in caplog.records if r.name == "shop.errors"]
    assert len(logged) == 1 and logged[0].request_id == body["request_id"]


async def test_a_refused_static_listing_is_a_plain_403_problem(client) -> None:  # type: ignore[no-untyped-def]
    response = await client.get("/static/products/")
    assert response.status == 403
    body = await response.json()
    assert "CORS" not in body["detail"]
    assert response.content_type == "application/problem+json"
