"""The memory bus: the behaviour every subscriber relies on, delivered deterministically."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

import pytest

from shop.bus import BusUnavailable, create_bus
from shop.bus.envelope import Envelope
from shop.bus.memory import MemoryBus
from shop.config import BusConfig

TOPIC = "order-events"


def memory_bus(**changes: object) -> MemoryBus:
    bus = create_bus(BusConfig.model_validate({"kind": "memory", "retry_backoff_ms": 1, **changes}))
    assert isinstance(bus, MemoryBus)
    return bus


def order_event(order_id: int, type: str = "order.created", **data: object) -> Envelope:
    return Envelope.new(type, {"id": order_id, "status": "Created", **data})


class Recorder:
    """A handler that records what it got, failing on the events it is told to."""

    def __init__(self, fail_times: dict[str, int] | None = None) -> None:
        self.got: list[Envelope] = []
        self.attempts: dict[str, int] = defaultdict(int)
        self.fail_times = fail_times or {}

    async def __call__(self, envelope: Envelope) -> None:
        self.attempts[envelope.event_id] += 1
        if self.attempts[envelope.event_id] <= self.fail_times.get(envelope.event_id, 0):
            raise RuntimeError(f"refusing {envelope.type} (attempt {self.attempts[envelope.event_id]})")
        self.got.append(envelope)

    @property
    def ids(self) -> list[str]:
        return [e.event_id for e in self.got]


async def test_a_group_gets_every_event_once_intact() -> None:
    bus, handler = memory_bus(), Recorder()
    bus.subscribe(TOPIC, "dispatcher", handler)
    await bus.start()
    events = [order_event(i) for i in range(5)]
    for event in events:
        await bus.publish(TOPIC, str(event.data["id"]), event)
    await bus.drain()
    assert handler.got == events
    assert all(count == 1 for count in handler.attempts.values())
    await bus.stop()


async def test_two_groups_each_get_every_event_and_other_topics_none() -> None:
    bus = memory_bus()
    dispatcher, audit, elsewhere = Recorder(), Recorder(), Recorder()
    bus.subscribe(TOPIC, "dispatcher", dispatcher)
    bus.subscribe(TOPIC, "audit", audit)
    bus.subscribe("other-topic", "dispatcher", elsewhere)
    await bus.start()
    events = [order_event(i) for i in range(3)]
    for event in events:
        await bus.publish(TOPIC, str(event.data["id"]), event)
    await bus.drain()
    assert dispatcher.got == events
    assert audit.got == events
    assert elsewhere.got == []
    await bus.stop()


async def test_each_subscriber_gets_its_own_copy() -> None:
    bus = memory_bus()
    seen: list[str] = []

    async def meddler(envelope: Envelope) -> None:
        envelope.data["status"] = "Meddled"

    async def reader(envelope: Envelope) -> None:
        seen.append(envelope.data["status"])

    bus.subscribe(TOPIC, "a-meddler", meddler)
    bus.subscribe(TOPIC, "b-reader", reader)
    await bus.start()
    await bus.publish(TOPIC, "1", order_event(1))
    await bus.drain()
    assert seen == ["Created"]
    await bus.stop()


async def test_order_per_key_is_kept_even_across_a_redelivery() -> None:
    events = [order_event(order_id, seq=seq) for seq in range(4) for order_id in (1, 2, 3)]
    # The first event of order 2 fails twice: its later events must still come after it.
    handler = Recorder(fail_times={events[1].event_id: 2})
    bus = memory_bus()
    bus.subscribe(TOPIC, "dispatcher", handler)
    await bus.start()
    for event in events:
        await bus.publish(TOPIC, str(event.data["id"]), event)
    await bus.drain()
    for order_id in (1, 2, 3):
        assert [e.data["seq"] for e in handler.got if e.data["id"] == order_id] == [0, 1, 2, 3]
    assert await bus.parked() == []
    await bus.stop()


async def test_a_failing_handler_gets_the_event_again_until_it_succeeds() -> None:
    event = order_event(7)
    handler = Recorder(fail_times={event.event_id: 2})
    bus = memory_bus(max_deliveries=3)
    bus.subscribe(TOPIC, "dispatcher", handler)
    await bus.start()
    await bus.publish(TOPIC, "7", event)
    await bus.drain()
    assert handler.attempts[event.event_id] == 3
    assert handler.got == [event]
    assert await bus.parked() == []
    await bus.stop()


async def test_an_event_that_keeps_failing_is_parked_and_consumption_moves_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    poison, fine = order_event(1, email="alice@example.com"), order_event(2)
    handler = Recorder(fail_times={poison.event_id: 1_000})
    bus = memory_bus(max_deliveries=3)
    bus.subscribe(TOPIC, "dispatcher", handler)
    await bus.start()
    with caplog.at_level(logging.WARNING, logger="shop.bus"):
        await bus.publish(TOPIC, "1", poison)
        await bus.publish(TOPIC, "2", fine)
        await bus.drain()

    assert handler.attempts[poison.event_id] == 3
    assert handler.got == [fine]
    [parked] = await bus.parked()
    assert parked.envelope == poison
    assert (parked.topic, parked.group, parked.attempts) == (TOPIC, "dispatcher", 3)
    assert parked.error.startswith("RuntimeError: refusing order.created")
    assert parked.parked_at.endswith("Z")

    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "parked" in errors[0].getMessage()
    assert errors[0].event_id == poison.event_id  # type: ignore[attr-defined]
    # The order (the customer's details) is never logged.
    for record in caplog.records:
        assert "alice@example.com" not in record.getMessage()
        assert "alice@example.com" not in repr(vars(record))
    await bus.stop()


async def test_drain_waits_for_events_that_handlers_publish() -> None:
    bus = memory_bus()
    followers = Recorder()

    async def dispatcher(envelope: Envelope) -> None:
        if envelope.type == "order.created":
            follow_up = Envelope.new("order.status_changed", {**envelope.data, "status": "Dispatched"})
            await bus.publish(TOPIC, str(envelope.data["id"]), follow_up)

    bus.subscribe(TOPIC, "dispatcher", dispatcher)
    bus.subscribe(TOPIC, "followers", followers)
    await bus.start()
    await bus.drain()  # nothing published: returns at once
    for order_id in range(3):
        await bus.publish(TOPIC, str(order_id), order_event(order_id))
    await bus.drain()
    assert [e.type for e in followers.got].count("order.status_changed") == 3
    assert len(followers.got) == 6
    await bus.stop()


async def test_drain_before_start_refuses_to_wait_forever() -> None:
    bus = memory_bus()
    bus.subscribe(TOPIC, "dispatcher", Recorder())
    await bus.publish(TOPIC, "1", order_event(1))
    with pytest.raises(RuntimeError, match="wait forever"):
        await bus.drain()
    await bus.start()  # what was published before start() is delivered after it
    await bus.drain()
    await bus.stop()


async def test_stop_finishes_queued_events_then_refuses_publishes() -> None:
    bus, handler = memory_bus(), Recorder()
    bus.subscribe(TOPIC, "dispatcher", handler)
    assert not await bus.ping()
    await bus.start()
    assert await bus.ping()
    events = [order_event(i) for i in range(3)]
    for event in events:
        await bus.publish(TOPIC, str(event.data["id"]), event)
    await bus.stop()
    assert handler.got == events
    assert not await bus.ping()
    with pytest.raises(BusUnavailable):
        await bus.publish(TOPIC, "9", order_event(9))
    await bus.stop()  # idempotent


async def test_subscriptions_are_fixed_before_start() -> None:
    bus = memory_bus()
    bus.subscribe(TOPIC, "dispatcher", Recorder())
    with pytest.raises(ValueError, match="already subscribes"):
        bus.subscribe(TOPIC, "dispatcher", Recorder())
    await bus.start()
    with pytest.raises(RuntimeError, match="before start"):
        bus.subscribe(TOPIC, "late", Recorder())
    await bus.stop()


async def test_an_event_that_cannot_be_serialised_fails_at_publish() -> None:
    bus = memory_bus()
    bus.subscribe(TOPIC, "dispatcher", Recorder())
    await bus.start()
    with pytest.raises(TypeError):
        await bus.publish(TOPIC, "1", Envelope.new("order.created", {"id": object()}))
    await bus.drain()
    await bus.stop()


async def test_a_handler_whose_own_work_was_cancelled_is_retried_not_fatal() -> None:
    bus, handler = memory_bus(max_deliveries=3), Recorder()
    calls = 0

    async def flaky(envelope: Envelope) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise asyncio.CancelledError("a request inside the handler was cancelled")
        await handler(envelope)

    bus.subscribe(TOPIC, "dispatcher", flaky)
    await bus.start()
    event = order_event(1)
    await bus.publish(TOPIC, "1", event)
    await bus.drain()
    assert handler.got == [event]
    await bus.publish(TOPIC, "2", order_event(2))  # the consumer is still there
    await bus.drain()
    assert len(handler.got) == 2
    await bus.stop()
