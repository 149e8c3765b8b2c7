"""How other services reach the dispatcher, through the registry: what it knows about one
order (its webhook calls, failing deliveries, a parked event), for the order's timeline and
the stuck-order watchdog. Registered locally or remote; /ready and /api/registry cover it
either way, and the gateway knows where to forward /api/dispatcher."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from shop.db import Slot
from shop.dispatcher.store import DispatchReport
from shop.registry import RemoteEndpoint, ServiceKey

if TYPE_CHECKING:
    from shop.dispatcher.worker import Dispatcher


class DispatcherClient(Protocol):
    async def report(self, order_id: int) -> DispatchReport: ...


class LocalDispatcherClient:
    def __init__(self, dispatchers: Slot[Dispatcher]) -> None:
        self._dispatchers = dispatchers

    async def report(self, order_id: int) -> DispatchReport:
        return await self._dispatchers.get().store.report(order_id)


class RemoteDispatcherClient:
    def __init__(self, endpoint: RemoteEndpoint) -> None:
        self._endpoint = endpoint

    async def report(self, order_id: int) -> DispatchReport:
        return DispatchReport.model_validate(await self._endpoint.call("GET", f"/internal/dispatcher/orders/{order_id}"))


DISPATCHER = ServiceKey[DispatcherClient]("dispatcher", RemoteDispatcherClient)
