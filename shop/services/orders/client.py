"""How other services (the dispatcher, the operator's views) reach orders: through the registry."""

from __future__ import annotations

from typing import Protocol

from shop.db import Slot
from shop.registry import RemoteEndpoint, ServiceKey
from shop.services.orders.models import Order
from shop.services.orders.service import Orders
from shop.services.orders.watchdog import StuckOrder, Watchdog


class OrdersClient(Protocol):
    async def get(self, order_id: int) -> Order: ...

    async def mark_dispatched(self, order_id: int, updated_by: str) -> Order:
        """Created -> Dispatched; a no-op for a Dispatched order; Conflict if Cancelled."""
        ...

    async def stuck(self) -> list[StuckOrder]:
        """Orders the watchdog found still Created too long, with the reason (operators)."""
        ...


class LocalOrdersClient:
    def __init__(self, orders: Slot[Orders], watchdog: Watchdog) -> None:
        self._orders = orders
        self._watchdog = watchdog

    async def get(self, order_id: int) -> Order:
        return await self._orders.get().store.get(order_id)

    async def mark_dispatched(self, order_id: int, updated_by: str) -> Order:
        return await self._orders.get().mark_dispatched(order_id, updated_by)

    async def stuck(self) -> list[StuckOrder]:
        return self._watchdog.stuck


class RemoteOrdersClient:
    def __init__(self, endpoint: RemoteEndpoint) -> None:
        self._endpoint = endpoint

    async def get(self, order_id: int) -> Order:
        return Order.model_validate(await self._endpoint.call("GET", f"/internal/orders/{order_id}"))

    async def mark_dispatched(self, order_id: int, updated_by: str) -> Order:
        body = await self._endpoint.call(
            "POST", f"/internal/orders/{order_id}/dispatched", json={"updated_by": updated_by}
        )
        return Order.model_validate(body)

    async def stuck(self) -> list[StuckOrder]:
        return [StuckOrder.model_validate(item) for item in await self._endpoint.call("GET", "/internal/orders/stuck")]


ORDERS = ServiceKey[OrdersClient]("orders", RemoteOrdersClient)
