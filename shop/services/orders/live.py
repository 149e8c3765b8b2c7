"""Live status: wakes the SSE streams of this process when an order's status changes.

A notification carries no data, only "look again": each stream then reads the status
events after the last id it sent, so a notification missed or doubled can never make a
client miss or repeat a change."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Listener:
    def __init__(self, customer_id: int | None) -> None:
        self.customer_id = customer_id
        self.changed = asyncio.Event()
        self.closed = False


class StatusBroadcaster:
    def __init__(self) -> None:
        self._listeners: set[Listener] = set()

    @asynccontextmanager
    async def listen(self, customer_id: int | None) -> AsyncIterator[Listener]:
        """Listen for changes to one customer's orders (None: every order, for admins)."""
        listener = Listener(customer_id)
        self._listeners.add(listener)
        try:
            yield listener
        finally:
            self._listeners.discard(listener)

    def notify(self, customer_id: int) -> None:
        for listener in self._listeners:
            if listener.customer_id in (None, customer_id):
                listener.changed.set()

    def close_all(self) -> None:
        """At shutdown: end every stream so the server need not wait for them."""
        for listener in self._listeners:
            listener.closed = True
            listener.changed.set()
