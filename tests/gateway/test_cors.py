"""CORS: browsers on the configured origins may call every route, including the mounted
services' routes; any other origin gets no CORS grant at all, and never a wildcard."""

from __future__ import annotations

import pytest

from tests.conftest import Api, MakeApi

ALLOWED = "http://127.0.0.1:8080"  # in the default cors_origins
FOREIGN = "http://evil.example"


def preflight_headers(origin: str, method: str, headers: str = "Authorization, Idempotency-Key") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers,
    }


def names(header: str) -> set[str]:
    return {part.strip().lower() for part in header.split(",") if part.strip()}


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/customers/me", "GET"),
        ("/api/customers/1", "PATCH"),
        ("/api/customers", "POST"),
        ("/api/auth/login", "POST"),
        ("/api/auth/register", "POST"),
        ("/api/auth/me", "GET"),
        ("/api/registry", "GET"),
    ],
)
async def test_preflight_from_an_allowed_origin(api: Api, path: str, method: str) -> None:
    response = await api.client.options(path, headers=preflight_headers(ALLOWED, method))
    assert response.status == 200, await response.text()
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert {"authorization", "idempotency-key"} <= names(response.headers["Access-Control-Allow-Headers"])
    assert method.lower() in names(response.headers["Access-Control-Allow-Methods"])
    assert "*" not in response.headers["Access-Control-Allow-Headers"]
    assert "*" not in response.headers.get("Access-Control-Allow-Methods", "")


async def test_preflight_allows_every_header_the_contract_names(api: Api) -> None:
    wanted = "Authorization, Content-Type, Idempotency-Key, X-Request-ID"
    response = await api.client.options("/api/auth/login", headers=preflight_headers(ALLOWED, "POST", wanted))
    assert response.status == 200
    assert names(wanted) <= names(response.headers["Access-Control-Allow-Headers"])


@pytest.mark.parametrize("path", ["/api/customers/me", "/api/auth/login"])
async def test_preflight_from_a_foreign_origin_is_refused(api: Api, path: str) -> None:
    response = await api.client.options(path, headers=preflight_headers(FOREIGN, "POST"))
    assert "Access-Control-Allow-Origin" not in response.headers
    assert response.status == 403
    assert response.content_type == "application/problem+json"
    # A refused preflight is not an authentication failure.
    assert "WWW-Authenticate" not in response.headers


async def test_preflight_asking_for_an_unlisted_header_is_refused(api: Api) -> None:
    response = await api.client.options("/api/auth/login", headers=preflight_headers(ALLOWED, "POST", "X-Secret-Thing"))
    assert response.status == 403
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_actual_request_exposes_the_contract_headers(api: Api) -> None:
    user = await api.register()
    response = await api.client.get("/api/auth/me", headers={**user.headers, "Origin": ALLOWED})
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    exposed = names(response.headers["Access-Control-Expose-Headers"])
    assert {
        "x-request-id",
        "x-total-count",
        "link",
        "retry-after",
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
    } <= exposed


async def test_error_responses_carry_cors_headers_too(api: Api) -> None:
    # Without them a browser cannot read the problem document of a 401.
    response = await api.client.get("/api/customers/me", headers={"Origin": ALLOWED})
    assert response.status == 401
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED


async def test_actual_request_from_a_foreign_origin_gets_no_grant(api: Api) -> None:
    user = await api.register()
    response = await api.client.get("/api/auth/me", headers={**user.headers, "Origin": FOREIGN})
    assert response.status == 200  # CORS is the browser's check; the server just grants nothing
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Expose-Headers" not in response.headers


async def test_origins_come_from_configuration(make_api: MakeApi) -> None:
    api = await make_api(gateway={"cors_origins": ["https://shop.example"]})
    allowed = await api.client.options("/api/auth/login", headers=preflight_headers("https://shop.example", "POST"))
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    default = await api.client.options("/api/auth/login", headers=preflight_headers(ALLOWED, "POST"))
    assert "Access-Control-Allow-Origin" not in default.headers


async def test_a_request_without_origin_gets_no_cors_headers(api: Api) -> None:
    user = await api.register()
    for response in (
        await api.client.get("/api/auth/me", headers=user.headers),
        await api.client.get("/api/customers/me"),
        await api.client.get("/health"),
    ):
        assert not [name for name in response.headers if name.lower().startswith("access-control-")]
