"""No acknowledged order is lost across a crash: the order and its event are committed
together, and a restarted shop publishes what the dead one had not."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.processes import start_shop
from tests.waiting import eventually
from tests.webhooks import WebhookTarget, start_webhook_target


@pytest.fixture
async def warehouse() -> AsyncIterator[WebhookTarget]:
    target = await start_webhook_target()
    yield target
    await target.server.close()


async def test_orders_acknowledged_before_a_kill_9_are_dispatched_after_restart(
    tmp_path: Path, warehouse: WebhookTarget
) -> None:
    data = tmp_path / "data"
    env = {"SHOP_DISPATCHER__WEBHOOKS": json.dumps([warehouse.url])}
    # The relay is held, so the events are in the outbox and nowhere else when it dies.
    shop = await start_shop(data, env={**env, "SHOP_BUS__RELAY_ENABLED": "false"})
    try:
        async with aiohttp.ClientSession(shop.url) as http:
            async with http.post(
                "/api/auth/register", json={"name": "Crash", "email": "crash@example.com", "password": "password-123"}
            ) as response:
                assert response.status == 201
                headers = {"Authorization": "Bearer " + (await response.json())["token"]}
            order_ids = []
            for product_id in (1, 2, 3, 4, 5):
                async with http.post(
                    "/api/orders", json={"items": [{"product_id": product_id, "quantity": 1}]}, headers=headers
                ) as response:
                    assert response.status == 201
                    order_ids.append((await response.json())["id"])
    finally:
        await shop.kill()
    assert warehouse.received == []

    shop = await start_shop(data, port=shop.port, env=env)
    try:
        async with aiohttp.ClientSession(shop.url) as http:

            async def all_dispatched() -> bool:
                statuses = []
                for order_id in order_ids:
                    async with http.get(f"/api/orders/{order_id}", headers=headers) as response:
                        statuses.append((await response.json())["status"])
                return all(status == "Dispatched" for status in statuses)

            await eventually(all_dispatched, "every acknowledged order to be dispatched")
    finally:
        await shop.stop()
    # Each order notified the warehouse exactly once.
    assert sorted(warehouse.order_ids()) == sorted(order_ids)
