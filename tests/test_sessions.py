"""Sessions that end when they should: deleting a customer, changing a password or resetting
it makes every token issued to that account before then answer 401 on every route, at once
in one process and within seconds in a process that does not run the auth service."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from shop.app import create_app
from tests.assertions import problem
from tests.conftest import Api, User, make_config
from tests.waiting import eventually

ROUTES = [("GET", "/api/auth/me"), ("GET", "/api/customers/me"), ("GET", "/api/orders")]


async def refused_everywhere(api: Api, user: User) -> None:
    for method, path in ROUTES:
        await problem(await api.client.request(method, path, headers=user.headers), 401)


async def test_changing_a_password_ends_every_earlier_session(api: Api) -> None:
    ann = await api.register(password="first-password")
    elsewhere = await api.login(ann.email, "first-password")  # a second device
    response = await api.client.post(
        "/api/auth/change-password",
        json={"current_password": "first-password", "new_password": "second-password"},
        headers=ann.headers,
    )
    assert response.status == 204, await response.text()
    await refused_everywhere(api, ann)
    await refused_everywhere(api, elsewhere)
    await problem(
        await api.client.post("/api/auth/login", json={"email": ann.email, "password": "first-password"}), 401
    )
    again = await api.login(ann.email, "second-password")
    assert (await api.client.get("/api/orders", headers=again.headers)).status == 200


async def test_a_wrong_current_password_changes_nothing(api: Api) -> None:
    ann = await api.register(password="first-password")
    response = await api.client.post(
        "/api/auth/change-password",
        json={"current_password": "not-it-at-all", "new_password": "second-password"},
        headers=ann.headers,
    )
    body = await problem(response, 422)
    assert body["errors"][0]["loc"] == ["current_password"]
    assert (await api.client.get("/api/auth/me", headers=ann.headers)).status == 200
    await api.login(ann.email, "first-password")


async def test_a_short_new_password_is_refused(api: Api) -> None:
    ann = await api.register(password="first-password")
    response = await api.client.post(
        "/api/auth/change-password",
        json={"current_password": "first-password", "new_password": "short"},
        headers=ann.headers,
    )
    await problem(response, 422)
    await problem(await api.client.post("/api/auth/change-password", json={}), 401)


async def test_a_process_without_auth_refuses_a_deleted_customers_token_within_seconds(tmp_path: Path) -> None:
    accounts = ["auth", "customers"]
    async with TestServer(create_app(make_config(tmp_path / "accounts"), accounts)) as backend:
        urls = {name: {"url": str(backend.make_url("")).rstrip("/")} for name in accounts}
        # The gateway runs products, orders and the dispatcher itself: its own routes check tokens.
        front_cfg = make_config(tmp_path / "front").with_changes(services=urls)
        front_app = create_app(front_cfg, ["gateway", "products", "orders", "dispatcher"])
        async with TestClient(TestServer(front_app)) as client:
            api = Api(client)
            ann, admin = await api.register(), await api.admin()
            assert (await client.get("/api/orders", headers=ann.headers)).status == 200
            response = await client.delete(f"/api/customers/{ann.id}", headers=admin.headers)
            assert response.status == 204

            async def refused() -> bool:
                return (await client.get("/api/orders", headers=ann.headers)).status == 401

            await eventually(refused, "the front process to refuse the deleted customer's token")
            assert (await client.get("/api/orders", headers=admin.headers)).status == 200
