"""Events a consumer keeps failing on are parked where an admin can see them, in the
consumer's database (they survive a restart), and can be replayed or discarded: the same on
the memory bus and on Kafka."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from shop.app import create_app
from shop.bus.envelope import Envelope
from shop.clock import utc_now
from shop.config import ShopConfig
from shop.dispatcher.worker import Dispatcher
from tests.conftest import Api, make_config
from tests.kafka import bus_settings
from tests.waiting import eventually

# -- dead letters on both buses, kept in the consumer's database ------------------------------


class WarehouseSaysNo:
    """The dispatcher's handler fails for every event while `failing` is set."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.failing = True
        original = Dispatcher.handle

        async def handle(dispatcher: Dispatcher, envelope: Envelope) -> None:
            if self.failing:
                raise RuntimeError("the warehouse says no")
            await original(dispatcher, envelope)

        monkeypatch.setattr(Dispatcher, "handle", handle)


@asynccontextmanager
async def running_shop(cfg: ShopConfig, services: list[str] | None = None) -> AsyncIterator[Api]:
    client = TestClient(TestServer(create_app(cfg, services)))
    await client.start_server()
    try:
        yield Api(client)
    finally:
        await client.close()


@pytest.fixture(params=["memory", "kafka"])
def bus_section(request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.param == "kafka":
        return bus_settings(request.getfixturevalue("kafka_bootstrap"), max_deliveries=2)
    return {"max_deliveries": 2, "retry_backoff_ms": 0}


async def parked_list(api: Api) -> list[dict[str, Any]]:
    admin = await api.admin()
    response = await api.client.get("/api/bus/parked", headers=admin.headers)
    assert response.status == 200, await response.text()
    return await response.json()


async def test_a_parked_event_is_listed_with_what_failed_for_admins_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bus_section: dict[str, Any]
) -> None:
    WarehouseSaysNo(monkeypatch)
    cfg = make_config(tmp_path / "data", bus=bus_section)
    async with running_shop(cfg) as api:
        user, admin = await api.register(), await api.admin()
        placed = await api.client.post(
            "/api/orders", json={"items": [{"product_id": 1, "quantity": 1}]}, headers=user.headers
        )
        order = await placed.json()
        [parked] = await eventually(lambda: parked_list(api), "the order's event parked")
        assert (await api.client.get("/api/bus/parked")).status == 401
        assert (await api.client.get("/api/bus/parked", headers=user.headers)).status == 403
        timeline = await api.client.get(f"/api/orders/{order['id']}/timeline", headers=admin.headers)
        [published] = [e for e in (await timeline.json())["entries"] if e["event_type"] == "order.created"]

    assert parked == {
        "id": "dispatcher.1",  # the dispatcher's dead-letter store, its first event
        "topic": cfg.bus.topic,
        "group": "order-dispatcher-group",
        "event_id": published["event_id"],
        "type": "order.created",
        "order_id": order["id"],
        "error": "RuntimeError: the warehouse says no",
        "attempts": 2,  # max_deliveries
        "parked_at": parked["parked_at"],
    }
    assert parked["parked_at"].endswith("Z") and order["created_at"] <= parked["parked_at"] <= utc_now()


async def test_a_parked_event_survives_a_restart_and_replays_once_the_consumer_recovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bus_section: dict[str, Any]
) -> None:
    warehouse = WarehouseSaysNo(monkeypatch)
    cfg = make_config(tmp_path / "data", bus=bus_section)
    async with running_shop(cfg) as api:
        user = await api.register()
        response = await api.client.post(
            "/api/orders", json={"items": [{"product_id": 1, "quantity": 1}]}, headers=user.headers
        )
        order = await response.json()
        [parked] = await eventually(lambda: parked_list(api), "the order's event parked")

    assert parked["order_id"] == order["id"] and parked["type"] == "order.created"
    assert parked["error"] == "RuntimeError: the warehouse says no" and parked["attempts"] == 2
    assert parked["id"].startswith("dispatcher.")

    async with running_shop(cfg) as api:  # a restart: still there
        assert [p["id"] for p in await parked_list(api)] == [parked["id"]]
        admin = await api.admin()
        replay = f"/api/bus/parked/{parked['id']}/replay"
        response = await api.client.post(replay, headers=admin.headers)
        assert response.status == 409 and "the warehouse says no" in (await response.json())["detail"]
        [again] = await parked_list(api)
        assert again["attempts"] == 3

        warehouse.failing = False
        response = await api.client.post(replay, headers=admin.headers)
        assert response.status == 200, await response.text()
        assert await parked_list(api) == []

        async def dispatched() -> bool:
            answer = await api.client.get(f"/api/orders/{order['id']}", headers=user.headers)
            return (await answer.json())["status"] == "Dispatched"

        await eventually(dispatched, "the replayed order dispatched")
        assert (await api.client.post(replay, headers=admin.headers)).status == 404


async def test_a_parked_event_can_be_discarded(
    aiohttp_client: Callable[..., Awaitable[TestClient]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    WarehouseSaysNo(monkeypatch)
    api = Api(await aiohttp_client(create_app(make_config(tmp_path / "data", bus={"max_deliveries": 1}))))
    user, admin = await api.register(), await api.admin()
    await api.client.post("/api/orders", json={"items": [{"product_id": 1, "quantity": 1}]}, headers=user.headers)
    [parked] = await eventually(lambda: parked_list(api), "the order's event parked")
    path = f"/api/bus/parked/{parked['id']}"
    assert (await api.client.delete(path, headers=user.headers)).status == 403
    assert (await api.client.delete(path, headers=admin.headers)).status == 204
    assert await parked_list(api) == []
    assert (await api.client.delete(path, headers=admin.headers)).status == 404
    for nonsense in ("nonsense", "dispatcher.%C2%B2", "dispatcher." + "9" * 30):
        assert (await api.client.delete(f"/api/bus/parked/{nonsense}", headers=admin.headers)).status == 404


async def test_the_gateway_of_a_split_deployment_shows_and_replays_the_dispatchers_parked_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse = WarehouseSaysNo(monkeypatch)
    services = ["auth", "customers", "products", "orders", "dispatcher"]
    backend_cfg = make_config(tmp_path / "backend", bus={"max_deliveries": 1})
    async with TestServer(create_app(backend_cfg, services)) as backend:
        urls = {name: {"url": str(backend.make_url("")).rstrip("/")} for name in services}
        gateway_cfg = make_config(tmp_path / "gateway")
        gateway_cfg = gateway_cfg.with_changes(services=urls)
        async with running_shop(gateway_cfg, ["gateway"]) as api:
            user = await api.register()
            await api.client.post(
                "/api/orders", json={"items": [{"product_id": 1, "quantity": 1}]}, headers=user.headers
            )
            [parked] = await eventually(lambda: parked_list(api), "the dispatcher's parked event, through the gateway")
            warehouse.failing = False
            admin = await api.admin()
            response = await api.client.post(f"/api/bus/parked/{parked['id']}/replay", headers=admin.headers)
            assert response.status == 200, await response.text()
            assert await parked_list(api) == []
