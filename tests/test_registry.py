"""The registry's remote path against a real second server: customers runs alone in its own
aiohttp server on loopback, and the main app reaches it over HTTP with the service token."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from shop.app import create_app
from shop.registry import SERVICE_TOKEN_HEADER
from shop.services.auth.store import UserStore
from tests.assertions import problem
from tests.conftest import ADMIN_EMAIL, Api, MakeApi, make_config

SERVICE_TOKEN = make_config(Path("unused")).internal.service_token

ServerFactory = Callable[..., Awaitable[TestServer]]
AUTH_ELSEWHERE = {"auth": {"url": "http://127.0.0.1:9"}}


@pytest.fixture
async def customers_server(aiohttp_server: ServerFactory, tmp_path: Path) -> TestServer:
    # Customers reaches auth only to delete or rename logins, which these tests do not do.
    cfg = make_config(tmp_path / "customers-data", services=AUTH_ELSEWHERE)
    return await aiohttp_server(create_app(cfg, services=["customers"]))


@pytest.fixture
async def main(make_api: MakeApi, customers_server: TestServer, tmp_path: Path) -> Api:
    url = str(customers_server.make_url("")).rstrip("/")
    return await make_api(only=["auth"], data_dir=tmp_path / "main-data", services={"customers": {"url": url}})


def profiles(tmp_path: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(tmp_path / "customers-data" / "customers.db") as conn:
        return list(conn.execute("SELECT id, email FROM customers ORDER BY id"))


async def test_register_creates_the_profile_in_the_remote_service(
    main: Api, customers_server: TestServer, tmp_path: Path
) -> None:
    user = await main.register("Ann", email="ann@example.com", city="Oslo")
    assert (user.id, "ann@example.com") in profiles(tmp_path)
    # The remote service's own API serves the same profile to the same token.
    async with ClientSession() as session:
        async with session.get(customers_server.make_url("/api/customers/me"), headers=user.headers) as response:
            assert response.status == 200
            body = await response.json()
    assert (body["id"], body["email"], body["city"]) == (user.id, "ann@example.com", "Oslo")
    # The main process holds no customers database of its own.
    assert not (tmp_path / "main-data" / "customers.db").exists()


async def test_the_admin_profile_is_created_remotely_at_start_up(main: Api, tmp_path: Path) -> None:
    assert ADMIN_EMAIL in [email for _, email in profiles(tmp_path)]
    admin = await main.admin()
    assert (admin.id, ADMIN_EMAIL) in profiles(tmp_path)


async def test_remote_conflict_and_validation_map_back(main: Api, tmp_path: Path) -> None:
    await main.register(email="ann@example.com")
    response = await main.client.post(
        "/api/auth/register", json={"name": "Ann", "email": "ANN@example.com", "password": "password-123"}
    )
    await problem(response, 409)
    assert [email for _, email in profiles(tmp_path)].count("ann@example.com") == 1


async def test_failed_login_insert_removes_the_remote_profile(
    main: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await main.register(email="ann@example.com")
    before = profiles(tmp_path)

    async def insert_fails(self: UserStore, *args: Any) -> Any:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(UserStore, "create", insert_fails)
    response = await main.client.post(
        "/api/auth/register", json={"name": "Bo", "email": "bo@example.com", "password": "password-123"}
    )
    await problem(response, 500)
    assert profiles(tmp_path) == before


async def test_ready_and_registry_show_the_remote(main: Api, customers_server: TestServer) -> None:
    ready = await main.client.get("/ready")
    assert ready.status == 200
    assert (await ready.json())["checks"]["customers"] is True
    admin = await main.admin()
    entries = await (await main.client.get("/api/registry", headers=admin.headers)).json()
    by_name = {entry["name"]: entry for entry in entries}
    assert by_name["customers"]["location"] == str(customers_server.make_url("")).rstrip("/")
    assert by_name["customers"]["healthy"] is True
    assert by_name["auth"]["location"] == "local"


async def test_ready_is_503_once_the_remote_stops(main: Api, customers_server: TestServer) -> None:
    await customers_server.close()
    response = await main.client.get("/ready")
    body = await problem(response, 503)
    assert "customers" in body["detail"]
    register = await main.client.post(
        "/api/auth/register", json={"name": "Bo", "email": "bo@example.com", "password": "password-123"}
    )
    await problem(register, 503)


@pytest.mark.parametrize("token", [None, "", "wrong-token-" + "z" * 30, SERVICE_TOKEN[:-1]])
async def test_internal_routes_refuse_a_missing_or_wrong_service_token(
    customers_server: TestServer, token: str | None, tmp_path: Path
) -> None:
    headers = {} if token is None else {SERVICE_TOKEN_HEADER: token}
    async with ClientSession() as session:
        async with session.post(
            customers_server.make_url("/internal/customers"),
            json={"name": "Mallory", "email": "mallory@example.com"},
            headers=headers,
        ) as response:
            assert response.status == 401
            assert response.content_type == "application/problem+json"
        async with session.delete(
            customers_server.make_url("/internal/customers/registrations/abc123"), headers=headers
        ) as response:
            assert response.status == 401
    assert "mallory@example.com" not in [email for _, email in profiles(tmp_path)]


async def test_internal_routes_accept_the_service_token(customers_server: TestServer, tmp_path: Path) -> None:
    async with ClientSession() as session:
        async with session.post(
            customers_server.make_url("/internal/customers"),
            json={"name": "Svc", "email": "svc@example.com"},
            headers={SERVICE_TOKEN_HEADER: SERVICE_TOKEN},
        ) as response:
            assert response.status == 201
    assert "svc@example.com" in [email for _, email in profiles(tmp_path)]


async def test_internal_routes_ignore_user_tokens(api: Api) -> None:
    # In one process too: an admin's JWT is not the service credential.
    admin = await api.admin()
    response = await api.client.post(
        "/internal/customers", json={"name": "X", "email": "x@example.com"}, headers=admin.headers
    )
    await problem(response, 401)


async def test_a_registration_that_times_out_leaves_no_profile_and_can_be_retried(
    aiohttp_server: ServerFactory, make_api: MakeApi, tmp_path: Path
) -> None:
    """The customers service stores the profile, then answers too late: the registration
    fails, removes exactly the profile it made, and the same email can register again."""
    slow = {"on": True}

    @web.middleware
    async def answer_late(request: web.Request, handler: Any) -> web.StreamResponse:
        response = await handler(request)
        if slow["on"] and request.method == "POST":
            await asyncio.sleep(3)
        return response

    customers = create_app(make_config(tmp_path / "customers-data", services=AUTH_ELSEWHERE), services=["customers"])
    customers.middlewares.append(answer_late)
    server = await aiohttp_server(customers)
    url = str(server.make_url("")).rstrip("/")
    main = await make_api(
        only=["auth"],
        data_dir=tmp_path / "main-data",
        services={"customers": {"url": url}},
        gateway={"upstream_timeout_seconds": 1.0},
    )
    body = {"name": "Late", "email": "late@example.com", "password": "password-123"}
    response = await main.client.post("/api/auth/register", json=body)
    assert response.status == 504
    assert "late@example.com" not in [email for _, email in profiles(tmp_path)]

    slow["on"] = False
    response = await main.client.post("/api/auth/register", json=body)
    assert response.status == 201, await response.text()
    assert "late@example.com" in [email for _, email in profiles(tmp_path)]
