"""The dispatcher in the registry. It consumes the bus for orders; other services call it
to send a notification that is about no order (auth's password reset), through `notify`,
and for what it knows about one order (its webhook calls, failing deliveries, a parked
event), for the order's timeline and the stuck-order watchdog, through `report`. It is
registered either way, so /ready and /api/registry cover its database locally, or its
health when it runs elsewhere, and the gateway knows where to forward /api/dispatcher."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Protocol

from shop.bus.envelope import Envelope
from shop.db import Slot
from shop.dispatcher.store import DispatchReport
from shop.registry import RemoteEndpoint, ServiceKey

if TYPE_CHECKING:
    from shop.dispatcher.worker import Dispatcher

NOTIFICATIONS_PATH = "/internal/dispatcher/notifications"


class DispatcherClient(Protocol):
    async def notify(self, envelope: Envelope) -> None:
        """Store the event's deliveries to [notifications] webhooks; they are sent after.
        The same event twice adds nothing."""
        ...

    async def report(self, order_id: int) -> DispatchReport: ...


class LocalDispatcherClient:
    def __init__(self, dispatchers: Slot[Dispatcher]) -> None:
        self._dispatchers = dispatchers

    async def notify(self, envelope: Envelope) -> None:
        await self._dispatchers.get().notify(envelope)

    async def report(self, order_id: int) -> DispatchReport:
        return await self._dispatchers.get().store.report(order_id)


class RemoteDispatcherClient:
    def __init__(self, endpoint: RemoteEndpoint) -> None:
        self._endpoint = endpoint

    async def notify(self, envelope: Envelope) -> None:
        await self._endpoint.call("POST", NOTIFICATIONS_PATH, json=json.loads(envelope.to_json()))

    async def report(self, order_id: int) -> DispatchReport:
        return DispatchReport.model_validate(
            await self._endpoint.call("GET", f"/internal/dispatcher/orders/{order_id}")
        )


DISPATCHER = ServiceKey[DispatcherClient]("dispatcher", RemoteDispatcherClient)
