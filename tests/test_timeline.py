"""An order's timeline says why it is where it is; the watchdog reports orders that stay
Created too long, with the reason, on every surface an operator looks at."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from shop.app import create_app
from shop.bus.envelope import Envelope
from shop.dispatcher.worker import Dispatcher
from tests.conftest import Api, MakeApi, User, make_config
from tests.services.test_orders import place
from tests.waiting import eventually, holds
from tests.webhooks import WebhookTarget, start_webhook_target

ORDER = {"items": [{"product_id": 1, "quantity": 1}]}


@pytest.fixture
async def target() -> AsyncIterator[WebhookTarget]:
    target = await start_webhook_target()
    yield target
    await target.server.close()


async def get(api: Api, path: str, user: User) -> tuple[int, Any]:
    response = await api.client.get(path, headers=user.headers)
    return response.status, await response.json()


async def test_the_timeline_shows_every_change_event_and_webhook_call(make_api: MakeApi, target: WebhookTarget) -> None:
    api = await make_api(dispatcher={"webhooks": [target.url], "max_attempts": 3})
    user, other, admin = await api.register(), await api.register(), await api.admin()
    target.status = 503
    _, order = await place(api, user, ORDER)
    await eventually(lambda: holds(len(target.received) >= 1), "a first, failing, webhook call")
    target.status = 200

    async def dispatched_timeline() -> dict[str, Any] | None:
        status, body = await get(api, f"/api/orders/{order['id']}/timeline", user)
        assert status == 200, body
        kinds = [(e["kind"], e.get("status") or e.get("event_type")) for e in body["entries"]]
        return body if ("event", "order.status_changed") in kinds and ("status", "Dispatched") in kinds else None

    timeline = await eventually(dispatched_timeline, "the timeline up to Dispatched")
    entries = timeline["entries"]
    assert timeline["deliveries_known"] is True
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)
    statuses = [(e["status"], e["actor"]) for e in entries if e["kind"] == "status"]
    assert statuses == [("Created", "customer"), ("Dispatched", "order-dispatcher")]
    calls = [e for e in entries if e["kind"] == "delivery"]
    codes = [c["status_code"] for c in calls]
    assert {c["target"] for c in calls} == {target.url}
    assert codes[-1] == 200 and len(codes) >= 2 and set(codes[:-1]) == {503}  # each call, failed ones too
    assert all(c["duration_ms"] >= 0 and c["actor"] == "order-dispatcher" for c in calls)
    events = [e for e in entries if e["kind"] == "event"]
    assert [e["event_type"] for e in events] == ["order.created", "order.status_changed"]
    assert events[0]["published_at"] is not None

    assert (await get(api, f"/api/orders/{order['id']}/timeline", admin))[0] == 200
    assert (await get(api, f"/api/orders/{order['id']}/timeline", other))[0] == 404
    assert (await api.client.get(f"/api/orders/{order['id']}/timeline")).status == 401


async def test_an_order_whose_target_keeps_failing_is_reported_stuck_with_the_reason(
    make_api: MakeApi, target: WebhookTarget
) -> None:
    # Long enough for the event to be published and the one delivery to fail first on a busy
    # machine: the watchdog notes the reason it sees first, once.
    api = await make_api(dispatcher={"webhooks": [target.url], "max_attempts": 1, "stuck_after_seconds": 1.0})
    user, admin = await api.register(), await api.admin()
    target.status = 503
    _, order = await place(api, user, ORDER)

    async def stuck() -> list[dict[str, Any]]:
        status, body = await get(api, "/api/orders/stuck", admin)
        assert status == 200, body
        return body

    [entry] = await eventually(stuck, "the order reported stuck")
    assert entry["order_id"] == order["id"]
    assert entry["reason"].startswith(f"target failing: {target.url} (HTTP 503")
    assert (await get(api, "/api/orders/stuck", user))[0] == 403

    ready = await api.client.get("/ready")
    assert ready.status == 200  # reported, not a failure
    assert "1 order(s) still Created" in (await ready.json())["details"]["stuck_orders"]
    assert "shop_orders_stuck 1.0" in await (await api.client.get("/metrics")).text()
    _, timeline = await get(api, f"/api/orders/{order['id']}/timeline", user)
    [note] = [e for e in timeline["entries"] if e["kind"] == "watchdog"]
    assert note["actor"] == "watchdog" and "target failing" in note["cause"]

    # Once it is dispatched it is no longer stuck.
    target.status = 200
    deliveries = await api.client.get("/api/dispatcher/deliveries", headers=admin.headers)
    [delivery] = await deliveries.json()
    assert (
        await api.client.post(f"/api/dispatcher/deliveries/{delivery['id']}/retry", headers=admin.headers)
    ).status == 202
    await eventually(lambda: _empty(stuck), "the order no longer stuck")
    assert "stuck_orders" not in (await (await api.client.get("/ready")).json())["details"]


async def _empty(probe: Any) -> bool:
    return await probe() == []


async def test_an_order_whose_event_is_not_published_is_stuck_because_the_bus_is_down(make_api: MakeApi) -> None:
    api = await make_api(dispatcher={"stuck_after_seconds": 0.2}, bus={"relay_enabled": False})
    user, admin = await api.register(), await api.admin()
    _, order = await place(api, user, ORDER)

    async def stuck() -> list[dict[str, Any]]:
        return (await get(api, "/api/orders/stuck", admin))[1]

    [entry] = await eventually(stuck, "the order reported stuck")
    assert (entry["order_id"], entry["reason"]) == (order["id"], "bus down: the order's event is not published yet")


async def test_the_gateway_of_a_split_deployment_reports_the_orders_process_stuck_orders(
    tmp_path: Path, target: WebhookTarget
) -> None:
    services = ["auth", "customers", "products", "orders", "dispatcher"]
    backend_cfg = make_config(
        tmp_path / "backend", dispatcher={"webhooks": [target.url], "max_attempts": 1, "stuck_after_seconds": 1.0}
    )
    target.status = 503
    async with TestServer(create_app(backend_cfg, services)) as backend:
        urls = {name: {"url": str(backend.make_url("")).rstrip("/")} for name in services}
        gateway_cfg = make_config(tmp_path / "gateway").with_changes(services=urls)
        async with TestClient(TestServer(create_app(gateway_cfg, ["gateway"]))) as client:
            api = Api(client)
            user = await api.register()
            await place(api, user, ORDER)

            async def ready_details() -> str | None:
                return (await (await client.get("/ready")).json())["details"].get("stuck_orders")

            line = await eventually(ready_details, "the gateway's /ready reporting the stuck order")
            assert "target failing" in line
            assert "shop_orders_stuck 1.0" in await (await client.get("/metrics")).text()


async def test_an_event_the_dispatcher_never_received_is_published_again_once(
    make_api: MakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As after restoring a backup while Kafka had moved on: the event was published (the
    # outbox says so) but the dispatcher never had it.
    lost: list[str] = []
    original = Dispatcher.handle

    async def loses_the_first(dispatcher: Dispatcher, envelope: Envelope) -> None:
        if not lost:
            lost.append(envelope.event_id)
            return
        await original(dispatcher, envelope)

    monkeypatch.setattr(Dispatcher, "handle", loses_the_first)
    api = await make_api(dispatcher={"stuck_after_seconds": 0.2})
    user = await api.register()
    _, order = await place(api, user, ORDER)

    async def dispatched() -> dict[str, Any] | None:
        _, body = await get(api, f"/api/orders/{order['id']}", user)
        return body if body["status"] == "Dispatched" else None

    await eventually(dispatched, "the order dispatched after its event was published again")
    _, timeline = await get(api, f"/api/orders/{order['id']}/timeline", user)
    notes = [e["cause"] for e in timeline["entries"] if e["kind"] == "watchdog"]
    assert "the dispatcher never received its event: published it again" in notes
    created = [e for e in timeline["entries"] if e.get("event_type") == "order.created"]
    assert len(created) == 2 and {e["event_id"] for e in created} == {lost[0]}  # the same event, twice
