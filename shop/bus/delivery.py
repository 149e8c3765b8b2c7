"""Handing one event to one subscriber: retry with backoff, then park. Both buses use it,
so a handler behaves the same on the memory bus in tests as on Kafka."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shop.bus import Handler, ParkedEvent
from shop.bus.envelope import Envelope
from shop.clock import utc_now
from shop.config import BusConfig

if TYPE_CHECKING:
    from shop.bus.parking import DeadLetters

log = logging.getLogger("shop.bus")

MAX_BACKOFF_SECONDS = 5.0
MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class Subscription:
    topic: str
    group: str
    handler: Handler
    dead_letters: DeadLetters


def describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


class Deliverer:
    """Runs a subscription's handler on an event until it succeeds or has failed
    `max_deliveries` times, then parks it in the subscription's dead-letter store."""

    def __init__(self, cfg: BusConfig) -> None:
        self._max_deliveries = cfg.max_deliveries
        self._backoff = cfg.retry_backoff_ms / 1000

    async def deliver(self, subscription: Subscription, envelope: Envelope) -> bool:
        """True once the handler succeeded; False when the event was parked."""
        attempt = 0
        while True:
            attempt += 1
            try:
                await subscription.handler(envelope)
                return True
            except asyncio.CancelledError as exc:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # the bus is stopping this consumer
                # Something inside the handler was cancelled: a failure like any other,
                # not a reason for the consumer to end.
                failure: Exception = RuntimeError(f"the handler was cancelled ({exc})")
            except Exception as exc:  # any failure of a handler is retried, then parked
                failure = exc
            # Logged without envelope.data: it is the order, with the customer's details.
            fields = {
                "event_id": envelope.event_id,
                "event_type": envelope.type,
                "topic": subscription.topic,
                "group": subscription.group,
                "attempt": attempt,
                "error": describe(failure),
            }
            if attempt >= self._max_deliveries:
                await self._park(subscription, envelope, failure, attempt)
                log.error("event parked: the handler failed on every delivery", extra=fields)
                return False
            log.warning("handler failed; the event will be delivered again", extra=fields)
            await asyncio.sleep(min(self._backoff * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS))

    async def _park(self, subscription: Subscription, envelope: Envelope, exc: Exception, attempts: int) -> None:
        """Returns once the dead-letter store has the event: until then the bus does not
        move on (on Kafka, nothing is committed), so a parked event is never lost."""
        event = ParkedEvent(
            envelope=envelope,
            group=subscription.group,
            error=describe(exc),
            attempts=attempts,
            parked_at=utc_now(),
            topic=subscription.topic,
        )
        wait = max(self._backoff, 0.1)
        while True:
            try:
                await subscription.dead_letters.park(event)
                return
            except Exception as failure:  # the consumer's database is closed or failing
                log.warning(
                    "parked event not stored yet; trying again",
                    extra={"event_id": envelope.event_id, "group": subscription.group, "error": describe(failure)},
                )
            await asyncio.sleep(wait)
            wait = min(wait * 2, MAX_BACKOFF_SECONDS)
