"""The outbox relay: publishes events that a service committed to its outbox table.

The event was written in the same transaction as the change it describes, so the relay is
the only path from database to bus: it publishes rows in order, marks each one published
only after the bus acknowledged it, backs off while the bus is down, and on start-up
publishes whatever a crash left behind. A crash between publish and mark publishes the
event again; consumers are idempotent by event_id, so at-least-once is enough.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from shop.background import BackgroundLoop
from shop.bus import Bus, BusUnavailable
from shop.bus.envelope import Envelope

log = logging.getLogger("shop.outbox")


class OutboxSource(Protocol):
    async def unpublished(self, limit: int) -> list[tuple[int, str, str, bytes]]: ...

    async def mark_published(self, outbox_ids: list[int]) -> None: ...


class OutboxRelay(BackgroundLoop):
    task_name = "outbox-relay"

    def __init__(
        self,
        source: OutboxSource,
        bus: Bus,
        *,
        batch_size: int = 100,
        poll_seconds: float = 1.0,
        max_backoff_seconds: float = 5.0,
    ) -> None:
        super().__init__()
        self._source = source
        self._bus = bus
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._max_backoff = max_backoff_seconds
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()

    def wake(self) -> None:
        """Something was written to the outbox: publish it now rather than at the next poll."""
        self._idle.clear()
        self._wakeup.set()

    async def wait_idle(self) -> None:
        """Until everything written so far is published (tests and graceful shutdown)."""
        await self._idle.wait()

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            self._wakeup.clear()
            try:
                published = await self.publish_pending()
            except BusUnavailable as exc:
                log.warning("bus unavailable; outbox events wait", extra={"retry_in_s": backoff, "error": str(exc)})
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            except Exception:
                log.exception("outbox relay failed; retrying")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            backoff = 0.1
            if published:
                continue  # there may be more than one batch
            if not self._wakeup.is_set():
                self._idle.set()
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for drops a cancellation that
            # arrives as the event is set (a wake() during stop()), and stop() then waits forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_seconds):
                    await self._wakeup.wait()

    async def publish_pending(self) -> int:
        rows = await self._source.unpublished(self._batch_size)
        done: list[int] = []
        try:
            for outbox_id, topic, key, payload in rows:
                try:
                    envelope = Envelope.from_json(payload)
                except ValueError:
                    # Written by this code, so only disk corruption gets here; skipping it
                    # silently would hide that, blocking on it would stop every later event.
                    log.error("unreadable outbox row skipped", extra={"outbox_id": outbox_id})
                else:
                    await self._bus.publish(topic, key, envelope)
                done.append(outbox_id)
        finally:
            # Even when the bus failed midway: what it acknowledged need not go again.
            if done:
                await self._bus.flush()
                await self._source.mark_published(done)
        return len(rows)
