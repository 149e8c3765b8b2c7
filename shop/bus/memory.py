"""The in-process bus: one asyncio queue and consumer task per (topic, group).

For a single process and for tests. It keeps nothing across a restart: an event published
but not yet handled when the process dies is gone (Kafka keeps it). `drain()` lets a test
wait for every effect of what it published, with no sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Literal

from shop.bus import BusUnavailable, Handler
from shop.bus.delivery import Deliverer, Subscription
from shop.bus.envelope import Envelope
from shop.bus.parking import BusParking, DeadLetters, Parking
from shop.config import BusConfig

log = logging.getLogger("shop.bus")

# A graceful stop lets the consumers finish what is queued, for at most this long.
STOP_GRACE_SECONDS = 5.0


class MemoryBus(BusParking):
    def __init__(self, cfg: BusConfig) -> None:
        self._deliverer = Deliverer(cfg)
        self._parking = Parking()
        self._queues: dict[Subscription, asyncio.Queue[bytes]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._state: Literal["new", "running", "stopping", "stopped"] = "new"
        # Events published but not yet handled or parked, over all subscriptions.
        self._unhandled = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def subscribe(self, topic: str, group: str, handler: Handler, dead_letters: DeadLetters | None = None) -> None:
        if self._state != "new":
            raise RuntimeError("subscribe() must come before start()")
        if any(s.topic == topic and s.group == group for s in self._queues):
            raise ValueError(f"group {group!r} already subscribes to {topic!r}")
        store = dead_letters or self._parking.in_memory
        self._parking.add(store)
        self._queues[Subscription(topic, group, handler, store)] = asyncio.Queue()

    async def start(self) -> None:
        if self._state != "new":
            raise RuntimeError(f"the bus cannot start: it is {self._state}")
        self._state = "running"
        for subscription, queue in self._queues.items():
            name = f"bus-{subscription.topic}-{subscription.group}"
            self._tasks.append(asyncio.create_task(self._consume(subscription, queue), name=name))

    async def stop(self) -> None:
        if self._state in ("stopping", "stopped"):
            return
        if self._state == "running" and self._unhandled:
            # Handlers may still publish follow-up events while the queues empty.
            self._state = "stopping"
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STOP_GRACE_SECONDS):
                    await self._idle.wait()
        self._state = "stopped"  # publish refuses from now on
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._unhandled:
            log.warning("bus stopped with events not yet handled", extra={"dropped": self._unhandled})
        for queue in self._queues.values():
            while not queue.empty():
                queue.get_nowait()
        self._unhandled = 0
        self._idle.set()

    async def publish(self, topic: str, key: str, envelope: Envelope) -> None:
        # One FIFO queue per subscription keeps publish order, so order per key too.
        if self._state == "stopped":
            raise BusUnavailable("the bus is stopped")
        # Each subscriber decodes its own copy, as over Kafka: no handler sees another's
        # changes to `data`, and a value that cannot be serialised fails here, not later.
        raw = envelope.to_json()
        for subscription, queue in self._queues.items():
            if subscription.topic == topic:
                queue.put_nowait(raw)
                self._unhandled += 1
                self._idle.clear()

    async def drain(self) -> None:
        """Return once every event published so far, and every event the handlers publish
        meanwhile, has been handled or parked by every subscriber."""
        if self._unhandled and self._state not in ("running", "stopping"):
            raise RuntimeError(f"drain() would wait forever: the bus is {self._state}")
        await self._idle.wait()

    async def flush(self) -> None:
        # Held only in this process's memory: safe once handled (or parked).
        if self._state in ("running", "stopping"):
            await self.drain()

    async def ping(self) -> bool:
        return self._state == "running"

    def _handler_of(self, topic: str, group: str) -> Handler | None:
        return next((s.handler for s in self._queues if (s.topic, s.group) == (topic, group)), None)

    async def _consume(self, subscription: Subscription, queue: asyncio.Queue[bytes]) -> None:
        while True:
            raw = await queue.get()
            try:
                await self._deliverer.deliver(subscription, Envelope.from_json(raw))
            finally:
                # A handler's own publishes were counted before this, so the count never
                # touches zero while there is still work.
                self._unhandled -= 1
                if self._unhandled == 0:
                    self._idle.set()
