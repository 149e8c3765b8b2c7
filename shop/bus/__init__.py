"""The event bus: one small protocol, two brokers (memory.py for one process and tests,
kafka.py for the real thing), chosen by `[bus] kind`.

Delivery is at least once. A handler that raises gets the event again after a short
backoff, up to `[bus] max_deliveries` times; then the event is parked in the subscription's
dead-letter store (shop/bus/parking.py) and consumption moves on. An admin lists parked
events, replays or discards them. Every consumer group gets every event of a topic.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from shop.bus.envelope import Envelope
from shop.config import BusConfig

if TYPE_CHECKING:
    from shop.bus.parking import DeadLetters

__all__ = ["Bus", "BusUnavailable", "Envelope", "Handler", "ParkedEvent", "create_bus"]

Handler = Callable[[Envelope], Awaitable[None]]


class BusUnavailable(Exception):
    """A publish could not be acknowledged by the broker (down, unreachable, timed out)."""


@dataclass(frozen=True)
class ParkedEvent:
    """An event a handler failed on `attempts` times; kept for an operator to look at."""

    envelope: Envelope
    group: str
    error: str  # the last failure, "ExceptionType: message"
    attempts: int
    parked_at: str  # RFC 3339 UTC
    topic: str = ""
    id: str = ""  # "<store>.<number>", once stored (shop/bus/parking.py)


class Bus(Protocol):
    async def start(self) -> None:
        """Connect and start every subscription's consumer."""

    async def stop(self) -> None:
        """Stop the consumers first, then the producer; publish raises afterwards."""

    async def publish(self, topic: str, key: str, envelope: Envelope) -> None:
        """Return once the broker acknowledged the event; raise BusUnavailable otherwise.
        Events with the same key are delivered in the order they were published."""

    def subscribe(self, topic: str, group: str, handler: Handler, dead_letters: DeadLetters | None = None) -> None:
        """Before start(): `handler` gets every event of `topic` once for `group`. Events it
        gives up on go to `dead_letters` (the consumer's database), else to memory."""

    async def flush(self) -> None:
        """Return once every event published so far is as safe as the bus can make it:
        Kafka has it (publish already waited for acks=all); the memory bus, which keeps
        nothing across a crash, has had it handled by every subscriber. The outbox marks
        an event published only after this, so a crash never loses one."""

    async def ping(self) -> bool:
        """Whether the broker is reachable now (for /ready)."""

    async def parked(self) -> list[ParkedEvent]:
        """Events handlers gave up on, oldest first."""

    async def replay(self, parked_id: str) -> ParkedEvent:
        """Hand a parked event to its handler again: removed once it succeeds; Conflict
        (with the new error) if it fails. NotFound for an unknown id."""

    async def discard(self, parked_id: str) -> None:
        """Forget a parked event. NotFound for an unknown id."""


def create_bus(cfg: BusConfig) -> Bus:
    # Imported here because both modules import this one for the protocol and errors.
    if cfg.kind == "kafka":
        from shop.bus.kafka import KafkaBus

        return KafkaBus(cfg)
    from shop.bus.memory import MemoryBus

    return MemoryBus(cfg)
