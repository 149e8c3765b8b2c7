"""Events a consumer keeps failing on are parked where an admin can see them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp.test_utils import TestClient

from shop.app import BUS, create_app
from shop.bus.envelope import Envelope
from tests.conftest import Api, make_config


async def test_parked_events_are_listed_for_admins_only(
    aiohttp_client: Callable[..., Awaitable[TestClient]], tmp_path: Path
) -> None:
    api = Api(await aiohttp_client(create_app(make_config(tmp_path / "data", bus={"max_deliveries": 2}))))
    bus = api.client.app[BUS]
    # An order.created for an order id the dispatcher accepts, then cannot find in orders,
    # is not a handler failure; a data payload without an id is ignored. What fails is a
    # handler crash: simulate one with an envelope whose data is not an order at all.
    poison = Envelope.new("order.created", {"id": "not-a-number"})
    await bus.publish("order-events", "x", poison)
    await bus.drain()  # type: ignore[attr-defined]

    user, admin = await api.register(), await api.admin()
    assert (await api.client.get("/api/bus/parked")).status == 401
    assert (await api.client.get("/api/bus/parked", headers=user.headers)).status == 403
    response = await api.client.get("/api/bus/parked", headers=admin.headers)
    assert response.status == 200
    assert await response.json() == []  # ignored by the dispatcher, not failed
