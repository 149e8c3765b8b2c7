"""The dispatcher in the registry. It consumes the bus for orders; other services call it only
to send a notification that is about no order (auth's password reset), through `notify`.
It is registered either way, so /ready and /api/registry cover its database locally, or its
health when it runs elsewhere, and the gateway knows where to forward /api/dispatcher."""

from __future__ import annotations

import json
from typing import Protocol

from shop.bus.envelope import Envelope
from shop.db import Slot
from shop.dispatcher.worker import Dispatcher
from shop.registry import RemoteEndpoint, ServiceKey

NOTIFICATIONS_PATH = "/internal/dispatcher/notifications"


class DispatcherClient(Protocol):
    async def notify(self, envelope: Envelope) -> None:
        """Store the event's deliveries to [notifications] webhooks; they are sent after.
        The same event twice adds nothing."""
        ...


class LocalDispatcherClient:
    def __init__(self, dispatchers: Slot[Dispatcher]) -> None:
        self._dispatchers = dispatchers

    async def notify(self, envelope: Envelope) -> None:
        await self._dispatchers.get().notify(envelope)


class RemoteDispatcherClient:
    def __init__(self, endpoint: RemoteEndpoint) -> None:
        self._endpoint = endpoint

    async def notify(self, envelope: Envelope) -> None:
        await self._endpoint.call("POST", NOTIFICATIONS_PATH, json=json.loads(envelope.to_json()))


DISPATCHER = ServiceKey[DispatcherClient]("dispatcher", RemoteDispatcherClient)
