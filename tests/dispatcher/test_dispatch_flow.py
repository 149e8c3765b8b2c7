"""From checkout to Dispatched on the memory bus: signed webhooks to real loopback servers,
the status seen through the API and on the SSE streams, redelivery, failing targets."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from shop.app import BUS, create_app
from shop.bus.envelope import Envelope
from shop.config import ShopConfig
from tests.conftest import Api, User, make_config
from tests.waiting import eventually, holds, read_sse
from tests.webhooks import WebhookTarget, start_webhook_target

SECRET = "webhook-secret-for-tests"


@pytest.fixture
async def warehouse() -> AsyncIterator[WebhookTarget]:
    target = await start_webhook_target()
    yield target
    await target.server.close()


@pytest.fixture
async def shipping() -> AsyncIterator[WebhookTarget]:
    target = await start_webhook_target()
    yield target
    await target.server.close()


def shop_config(tmp_path: Path, *targets: WebhookTarget, **dispatcher: Any) -> ShopConfig:
    return make_config(
        tmp_path / "data",
        dispatcher={"webhooks": [t.url for t in targets], "webhook_secret": SECRET, "max_attempts": 3, **dispatcher},
    )


ApiFor = Callable[[ShopConfig], Awaitable[Api]]


@pytest.fixture
async def api_for(aiohttp_client: Callable[..., Awaitable[TestClient]]) -> ApiFor:
    """An Api on an app built from a whole config (conftest's make_api takes sections)."""

    async def make(cfg: ShopConfig) -> Api:
        return Api(await aiohttp_client(create_app(cfg)))

    return make


async def place(api: Api, user: User, product_id: int = 1) -> dict[str, Any]:
    response = await api.client.post(
        "/api/orders", json={"items": [{"product_id": product_id, "quantity": 1}]}, headers=user.headers
    )
    assert response.status == 201, await response.text()
    return await response.json()


async def order_status(api: Api, user: User, order_id: int) -> str:
    response = await api.client.get(f"/api/orders/{order_id}", headers=user.headers)
    return (await response.json())["status"]


async def dispatched(api: Api, user: User, order_id: int) -> bool:
    return await order_status(api, user, order_id) == "Dispatched"


async def test_order_reaches_dispatched_with_signed_webhooks_and_live_status(
    tmp_path: Path, warehouse: WebhookTarget, shipping: WebhookTarget, api_for: ApiFor
) -> None:
    # Hold the order at the warehouse until the customer is watching the stream.
    warehouse.status = 503
    api = await api_for(shop_config(tmp_path, warehouse, shipping, max_attempts=1000, retry_base_seconds=0.02))
    user = await api.register()
    order = await place(api, user)

    stream = await api.client.get(f"/api/orders/{order['id']}/events", headers=user.headers)
    assert stream.status == 200
    assert stream.content_type == "text/event-stream"
    first = await read_sse(stream, lambda events: len(events) >= 1)
    assert first[0]["event"] == "status"
    assert first[0]["data"] == {"id": order["id"], "status": "Created", "updated_at": order["updated_at"]}
    await eventually(lambda: holds(len(warehouse.received) >= 1), "a first warehouse attempt")

    everything = await api.client.get("/api/orders/events", headers=user.headers)
    warehouse.status = 200
    changes = await read_sse(stream, lambda events: any(e["data"]["status"] == "Dispatched" for e in events))
    assert int(changes[-1]["id"]) > int(first[0]["id"])
    mine = await read_sse(everything, lambda events: any(e["data"]["status"] == "Dispatched" for e in events))
    assert mine[-1]["data"]["id"] == order["id"]
    stream.close()
    everything.close()

    response = await api.client.get(f"/api/orders/{order['id']}", headers=user.headers)
    final = await response.json()
    assert final["status"] == "Dispatched"
    assert final["updated_by"] == "order-dispatcher"

    assert len(shipping.received) == 1
    for call in (warehouse.received[-1], shipping.received[0]):
        expected = "sha256=" + hmac.new(SECRET.encode(), call.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(call.headers["X-Shop-Signature"], expected)
        assert call.headers["X-Shop-Event"] == "order.created"
        envelope = json.loads(call.body)
        assert set(envelope) == {"event_id", "type", "occurred_at", "data"}
        assert envelope["type"] == "order.created" and envelope["data"]["id"] == order["id"]
    # The delivery id is stable across retries of one delivery.
    assert len({call.headers["X-Shop-Delivery"] for call in warehouse.received}) == 1


async def test_sse_resumes_after_last_event_id(tmp_path: Path, api_for: ApiFor) -> None:
    api = await api_for(make_config(tmp_path / "data", dispatcher={"enabled": False}))
    user = await api.register()
    order = await place(api, user)
    stream = await api.client.get(f"/api/orders/{order['id']}/events", headers=user.headers)
    [created] = await read_sse(stream, lambda events: len(events) >= 1)
    stream.close()

    # A change while the client is away...
    response = await api.client.post(f"/api/orders/{order['id']}/cancel", headers=user.headers)
    assert response.status == 200
    # ...is the first thing it gets when it comes back with Last-Event-ID.
    stream = await api.client.get(
        f"/api/orders/{order['id']}/events", headers={**user.headers, "Last-Event-ID": created["id"]}
    )
    [missed] = await read_sse(stream, lambda events: len(events) >= 1)
    stream.close()
    assert missed["data"]["status"] == "Cancelled"
    assert int(missed["id"]) == int(created["id"]) + 1


async def test_redelivered_event_dispatches_nothing_twice(
    tmp_path: Path, warehouse: WebhookTarget, api_for: ApiFor
) -> None:
    api = await api_for(shop_config(tmp_path, warehouse))
    user = await api.register()
    order = await place(api, user)
    await eventually(lambda: dispatched(api, user, order["id"]), "the order to be dispatched")
    [call] = warehouse.received
    envelope = Envelope.from_json(call.body)

    bus = api.client.app[BUS]
    for _ in range(3):
        await bus.publish("order-events", str(order["id"]), envelope)
    await bus.drain()  # type: ignore[attr-defined]
    assert len(warehouse.received) == 1

    stream = await api.client.get(f"/api/orders/{order['id']}/events", headers={**user.headers, "Last-Event-ID": "0"})
    events = await read_sse(stream, lambda events: len(events) >= 2)
    stream.close()
    assert [e["data"]["status"] for e in events] == ["Created", "Dispatched"]


async def test_failing_target_does_not_block_other_orders_and_can_be_retried(
    tmp_path: Path, warehouse: WebhookTarget, api_for: ApiFor
) -> None:
    api = await api_for(shop_config(tmp_path, warehouse, max_attempts=3))
    user, admin = await api.register(), await api.admin()
    # The warehouse fails only orders of product 1; the next order proves nothing is blocked.
    warehouse.failing_products.add(1)
    stuck = await place(api, user, product_id=1)
    fine = await place(api, user, product_id=2)
    await eventually(lambda: dispatched(api, user, fine["id"]), "the healthy order to be dispatched")

    async def failed_deliveries() -> list[dict[str, Any]]:
        response = await api.client.get("/api/dispatcher/deliveries?status=failed", headers=admin.headers)
        assert response.status == 200
        return [d for d in await response.json() if d["order_id"] == stuck["id"]]

    [failed] = await eventually(failed_deliveries, "the delivery to be marked failed")
    assert failed["attempts"] == 3 and failed["target"] == warehouse.url
    assert failed["last_error"] == "HTTP 503"
    assert await order_status(api, user, stuck["id"]) == "Created"

    response = await api.client.post(f"/api/dispatcher/deliveries/{failed['id']}/retry", headers=user.headers)
    assert response.status == 403
    warehouse.failing_products.clear()
    response = await api.client.post(f"/api/dispatcher/deliveries/{failed['id']}/retry", headers=admin.headers)
    assert response.status == 202
    await eventually(lambda: dispatched(api, user, stuck["id"]), "the retried order to be dispatched")
    response = await api.client.get("/api/dispatcher/deliveries?status=delivered", headers=admin.headers)
    assert stuck["id"] in [d["order_id"] for d in await response.json()]
    response = await api.client.post(f"/api/dispatcher/deliveries/{failed['id']}/retry", headers=admin.headers)
    assert response.status == 409  # delivered already


async def test_without_targets_orders_are_dispatched_directly(tmp_path: Path, api_for: ApiFor) -> None:
    api = await api_for(make_config(tmp_path / "data"))
    user = await api.register()
    order = await place(api, user)
    await eventually(lambda: dispatched(api, user, order["id"]), "the order to be dispatched")


async def test_deliveries_are_admin_only(tmp_path: Path, api_for: ApiFor) -> None:
    api = await api_for(make_config(tmp_path / "data"))
    user = await api.register()
    assert (await api.client.get("/api/dispatcher/deliveries")).status == 401
    assert (await api.client.get("/api/dispatcher/deliveries", headers=user.headers)).status == 403
    admin = await api.admin()
    response = await api.client.get("/api/dispatcher/deliveries?status=bogus", headers=admin.headers)
    assert response.status == 422


async def test_admin_stream_covers_every_customers_orders_and_customers_only_their_own(
    tmp_path: Path, api_for: ApiFor
) -> None:
    api = await api_for(make_config(tmp_path / "data", dispatcher={"enabled": False}))
    alice, bob, admin = await api.register(), await api.register(), await api.admin()
    alices = await place(api, alice)
    admin_stream = await api.client.get("/api/orders/events", headers=admin.headers)
    bob_stream = await api.client.get("/api/orders/events", headers=bob.headers)
    [current] = await read_sse(admin_stream, lambda events: len(events) >= 1)
    assert current["data"]["id"] == alices["id"] and current["data"]["status"] == "Created"

    bobs = await place(api, bob, product_id=2)
    response = await api.client.post(f"/api/orders/{alices['id']}/cancel", headers=alice.headers)
    assert response.status == 200
    seen = await read_sse(admin_stream, lambda events: len(events) >= 2)
    assert [(e["data"]["id"], e["data"]["status"]) for e in seen] == [
        (bobs["id"], "Created"),
        (alices["id"], "Cancelled"),
    ]
    # Bob's stream has his order only, never Alice's.
    [bob_event] = await read_sse(bob_stream, lambda events: len(events) >= 1)
    assert bob_event["data"]["id"] == bobs["id"]
    admin_stream.close()
    bob_stream.close()


async def test_an_order_cancelled_before_its_targets_answered_is_given_up_without_a_warning(
    tmp_path: Path, warehouse: WebhookTarget, api_for: ApiFor, caplog: pytest.LogCaptureFixture
) -> None:
    api = await api_for(shop_config(tmp_path, warehouse))
    user = await api.register()
    warehouse.failing_products = {1}  # the delivery waits, retrying
    order = await place(api, user, product_id=1)
    await eventually(lambda: holds(len(warehouse.received) >= 1), "a first, failed delivery")
    response = await api.client.post(f"/api/orders/{order['id']}/cancel", headers=user.headers)
    assert response.status == 200
    caplog.set_level(logging.INFO, logger="shop.dispatcher")
    warehouse.failing_products = set()  # now it is acknowledged, and there is nothing to mark

    def not_dispatched() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == "shop.dispatcher" and r.getMessage() == "order not dispatched"]

    [record] = await eventually(lambda: holds(not_dispatched()), "the dispatcher to give the order up")
    assert record.levelno == logging.INFO and record.__dict__["order_id"] == order["id"]
    final = await api.client.get(f"/api/orders/{order['id']}", headers=user.headers)
    assert (await final.json())["status"] == "Cancelled"
