"""The outbox relay marks an event published only once the bus has it safe, backs off
while the bus is down, and publishes in order."""

from __future__ import annotations

import asyncio

from shop.bus import BusUnavailable
from shop.bus.envelope import Envelope
from shop.bus.memory import MemoryBus
from shop.bus.outbox import OutboxRelay
from shop.config import BusConfig
from tests.waiting import eventually, holds

TOPIC = "order-events"


class ListOutbox:
    """The outbox table's contract, in a list: rows are (id, topic, key, payload)."""

    def __init__(self, count: int) -> None:
        self.rows = [
            (i, TOPIC, str(i), Envelope.new("order.created", {"id": i}).to_json()) for i in range(1, count + 1)
        ]
        self.published: list[int] = []

    async def unpublished(self, limit: int) -> list[tuple[int, str, str, bytes]]:
        return [row for row in self.rows if row[0] not in self.published][:limit]

    async def mark_published(self, outbox_ids: list[int]) -> None:
        self.published.extend(outbox_ids)


class FlakyBus(MemoryBus):
    """A memory bus whose broker is 'down' for the first `outages` publishes."""

    def __init__(self, outages: int) -> None:
        super().__init__(BusConfig())
        self.outages = outages

    async def publish(self, topic: str, key: str, envelope: Envelope) -> None:
        if self.outages:
            self.outages -= 1
            raise BusUnavailable("broker down")
        await super().publish(topic, key, envelope)


async def test_memory_bus_events_count_as_published_only_once_handled() -> None:
    bus = MemoryBus(BusConfig())
    release = asyncio.Event()
    handled: list[int] = []

    async def slow_handler(envelope: Envelope) -> None:
        await release.wait()
        handled.append(envelope.data["id"])

    bus.subscribe(TOPIC, "dispatcher", slow_handler)
    await bus.start()
    outbox = ListOutbox(3)
    relay = OutboxRelay(outbox, bus)
    relay.start()
    try:
        await eventually(lambda: holds(bus._unhandled == 3), "the events to be on the bus")
        # A crash now would lose events held only in memory: they must not count as published.
        assert outbox.published == []
        release.set()
        await eventually(lambda: holds(outbox.published == [1, 2, 3]), "the events to be marked published")
        assert handled == [1, 2, 3]
    finally:
        await relay.stop()
        await bus.stop()


async def test_relay_backs_off_while_the_bus_is_down_and_loses_nothing() -> None:
    bus = FlakyBus(outages=3)
    received: list[int] = []

    async def handler(envelope: Envelope) -> None:
        received.append(envelope.data["id"])

    bus.subscribe(TOPIC, "dispatcher", handler)
    await bus.start()
    outbox = ListOutbox(5)
    relay = OutboxRelay(outbox, bus)
    relay.start()
    try:
        await eventually(lambda: holds(sorted(outbox.published) == [1, 2, 3, 4, 5]), "every event to be published")
        await bus.drain()
        assert received == [1, 2, 3, 4, 5]  # in order, each once
    finally:
        await relay.stop()
        await bus.stop()
