"""How other services (the dispatcher) reach orders: through the registry."""

from __future__ import annotations

from typing import Protocol

from shop.db import Slot
from shop.registry import RemoteEndpoint, ServiceKey
from shop.services.orders.models import Order
from shop.services.orders.placing import Orders


class OrdersClient(Protocol):
    async def get(self, order_id: int) -> Order: ...

    async def mark_dispatched(self, order_id: int, updated_by: str) -> Order:
        """Created -> Dispatched; a no-op for a Dispatched order; Conflict if Cancelled."""
        ...


class LocalOrdersClient:
    def __init__(self, orders: Slot[Orders]) -> None:
        self._orders = orders

    async def get(self, order_id: int) -> Order:
        return await self._orders.get().store.get(order_id)

    async def mark_dispatched(self, order_id: int, updated_by: str) -> Order:
        return await self._orders.get().mark_dispatched(order_id, updated_by)


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


ORDERS = ServiceKey[OrdersClient]("orders", RemoteOrdersClient)
