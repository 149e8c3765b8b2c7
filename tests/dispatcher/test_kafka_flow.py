"""The whole order flow on a real Kafka-protocol broker: orders publishes through the
outbox, the dispatcher consumes as `order-dispatcher-group`, and a dispatcher that was
down resumes from its committed offset."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiokafka import AIOKafkaConsumer

from shop.app import create_app
from shop.config import ShopConfig
from tests.conftest import Api, User, make_config
from tests.kafka import bus_settings
from tests.waiting import eventually
from tests.webhooks import WebhookTarget, start_webhook_target


@pytest.fixture
async def warehouse() -> AsyncIterator[WebhookTarget]:
    target = await start_webhook_target()
    yield target
    await target.server.close()


@asynccontextmanager
async def running_shop(cfg: ShopConfig) -> AsyncIterator[Api]:
    client = TestClient(TestServer(create_app(cfg)))
    await client.start_server()
    try:
        yield Api(client)
    finally:
        await client.close()


async def place(api: Api, user: User, product_id: int) -> int:
    response = await api.client.post(
        "/api/orders", json={"items": [{"product_id": product_id, "quantity": 1}]}, headers=user.headers
    )
    assert response.status == 201, await response.text()
    return int((await response.json())["id"])


async def is_dispatched(api: Api, user: User, order_id: int) -> bool:
    response = await api.client.get(f"/api/orders/{order_id}", headers=user.headers)
    return (await response.json())["status"] == "Dispatched"


async def test_order_flow_on_kafka(kafka_bootstrap: str, tmp_path: Path, warehouse: WebhookTarget) -> None:
    bus = bus_settings(kafka_bootstrap)
    cfg = make_config(tmp_path / "data", bus=bus, dispatcher={"webhooks": [warehouse.url]})
    async with running_shop(cfg) as api:
        user = await api.register()
        order_id = await place(api, user, 1)
        await eventually(lambda: is_dispatched(api, user, order_id), "the order to be dispatched over Kafka")
        response = await api.client.get("/ready")
        assert (await response.json())["checks"]["bus"] is True
    assert warehouse.order_ids() == [order_id]

    # Anyone can read the documented envelope off the topic, keyed by order id.
    consumer = AIOKafkaConsumer(bus["topic"], bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    messages: list[Any] = []

    async def read_up_to_status_changed() -> bool:
        records = await consumer.getmany(timeout_ms=500)
        messages.extend(m for batch in records.values() for m in batch)
        return any(json.loads(m.value)["type"] == "order.status_changed" for m in messages)

    try:
        await eventually(read_up_to_status_changed, "an order.status_changed event on the topic")
    finally:
        await consumer.stop()
    created = [json.loads(m.value) for m in messages if json.loads(m.value)["type"] == "order.created"]
    assert len(created) == 1
    assert set(created[0]) == {"event_id", "type", "occurred_at", "data"}
    assert created[0]["data"]["id"] == order_id and created[0]["data"]["status"] == "Created"
    assert {m.key for m in messages} == {str(order_id).encode()}


async def test_dispatcher_that_was_down_resumes_without_loss_or_repeats(
    kafka_bootstrap: str, tmp_path: Path, warehouse: WebhookTarget
) -> None:
    bus: dict[str, Any] = bus_settings(kafka_bootstrap)
    data = tmp_path / "data"
    with_dispatcher = make_config(data, bus=bus, dispatcher={"webhooks": [warehouse.url]})
    without_dispatcher = make_config(data, bus=bus, dispatcher={"enabled": False})

    async with running_shop(with_dispatcher) as api:
        user = await api.register()
        first = await place(api, user, 1)
        await eventually(lambda: is_dispatched(api, user, first), "the first order to be dispatched")

    # The dispatcher is down: orders keep being taken and their events wait in Kafka.
    async with running_shop(without_dispatcher) as api:
        later = [await place(api, user, product_id) for product_id in (2, 3, 4)]
        for order_id in later:
            assert not await is_dispatched(api, user, order_id)

    async with running_shop(with_dispatcher) as api:
        for order_id in later:
            await eventually(
                lambda order_id=order_id: is_dispatched(api, user, order_id), f"order {order_id} to be dispatched"
            )
    # Resumed from the committed offset: the first order was not notified again.
    assert sorted(warehouse.order_ids()) == sorted([first, *later])
