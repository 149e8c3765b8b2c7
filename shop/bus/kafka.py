"""The Kafka bus (aiokafka): key = order id, value = the envelope's JSON.

Publishing waits for acks="all" and is bounded by `request_timeout_ms`, so a broker that is
down gives BusUnavailable, never a hang; the outbox relay retries. Each subscription is one
consumer in its group with auto-commit off: an offset is committed only after the handler
succeeded (or the event was parked), so a crash or restart re-delivers, never loses.

The broker being down at start-up is not fatal: start() logs it, publishes fail with
BusUnavailable until it is back, and the consumers keep trying to join their groups.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import Literal

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.protocol.group import LeaveGroupRequest

from shop.bus import BusUnavailable, Handler
from shop.bus.delivery import Deliverer, Subscription, describe
from shop.bus.envelope import Envelope
from shop.bus.parking import BusParking, DeadLetters, Parking
from shop.config import BusConfig

log = logging.getLogger("shop.bus")

# Topics this bus creates get one partition: total order per topic, and one consumer per
# group does all the work. A cluster that needs more creates its topics beforehand.
NEW_TOPIC_PARTITIONS = 1
NEW_TOPIC_REPLICATION = 1
# A consumer that lost the broker starts again after this, doubling up to the maximum.
RESTART_BACKOFF_SECONDS = 0.5
MAX_RESTART_BACKOFF_SECONDS = 10.0
PING_TIMEOUT_SECONDS = 3.0
# stop() lets a handler that is running (and its commit) finish, for at most this long.
STOP_GRACE_SECONDS = 5.0
FETCH_TIMEOUT_MS = 500
FETCH_MAX_RECORDS = 100

# Exceptions that mean "the broker is not there or did not answer in time".
_UNREACHABLE = (KafkaError, OSError, TimeoutError)


class KafkaBus(BusParking):
    def __init__(self, cfg: BusConfig) -> None:
        self._cfg = cfg
        self._timeout = cfg.request_timeout_ms / 1000
        self._deliverer = Deliverer(cfg)
        self._parking = Parking()
        self._subscriptions: list[Subscription] = []
        self._tasks: dict[Subscription, asyncio.Task[None]] = {}
        # Subscriptions whose consumer is inside a handler or its commit right now.
        self._busy: set[Subscription] = set()
        self._producer: AIOKafkaProducer | None = None
        self._producer_lock = asyncio.Lock()
        self._known_topics: set[str] = set()
        self._state: Literal["new", "running", "stopped"] = "new"

    # -- lifecycle ----------------------------------------------------------------------------

    def subscribe(self, topic: str, group: str, handler: Handler, dead_letters: DeadLetters | None = None) -> None:
        if self._state != "new":
            raise RuntimeError("subscribe() must come before start()")
        if any(s.topic == topic and s.group == group for s in self._subscriptions):
            raise ValueError(f"group {group!r} already subscribes to {topic!r}")
        store = dead_letters or self._parking.in_memory
        self._parking.add(store)
        self._subscriptions.append(Subscription(topic, group, handler, store))

    async def start(self) -> None:
        if self._state != "new":
            raise RuntimeError(f"the bus cannot start: it is {self._state}")
        self._state = "running"
        try:
            await self._connected_producer()
            await self._ensure_topic(self._cfg.topic)
        except BusUnavailable as exc:
            log.warning("Kafka is not reachable yet; publishes fail until it is", extra={"error": str(exc)})
        for subscription in self._subscriptions:
            name = f"bus-{subscription.topic}-{subscription.group}"
            self._tasks[subscription] = asyncio.create_task(self._consume(subscription), name=name)

    async def stop(self) -> None:
        self._state = "stopped"  # consumers finish the event in hand, then return
        # Interrupting a handler would leave its work half done (and the event uncommitted,
        # so it comes again anyway); an idle consumer has nothing to finish.
        tasks = list(self._tasks.values())
        busy = {task for subscription, task in self._tasks.items() if subscription in self._busy}
        for task in tasks:
            if task not in busy:
                task.cancel()
        if busy:
            _, late = await asyncio.wait(busy, timeout=STOP_GRACE_SECONDS)
            for task in late:
                task.cancel()
        # Each task is cancelled at most once: a second cancel would cut short the consumer's
        # own clean-up (leaving the group, closing its connections).
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        async with self._producer_lock:
            if self._producer is not None:
                producer, self._producer = self._producer, None
                await _bounded(producer.stop(), self._timeout)

    # -- publishing ---------------------------------------------------------------------------

    async def publish(self, topic: str, key: str, envelope: Envelope) -> None:
        if self._state == "stopped":
            raise BusUnavailable("the bus is stopped")
        value = envelope.to_json()
        producer = await self._connected_producer()
        await self._ensure_topic(topic)
        try:
            async with asyncio.timeout(self._timeout):
                await producer.send_and_wait(topic, value, key=key.encode())
        except _UNREACHABLE as exc:
            # The record may still reach the broker later; a second publish of the same
            # event is harmless since consumers are idempotent by event_id. The broker may
            # come back without its topics (tansu keeps them in memory): check them again.
            self._known_topics.discard(topic)
            raise BusUnavailable(f"publish to {topic!r} not acknowledged: {describe(exc)}") from exc

    async def flush(self) -> None:
        """Nothing to wait for: publish returned only once the broker acknowledged."""

    async def ping(self) -> bool:
        if self._state != "running":
            return False
        try:
            # /ready waits for this: a broker that does not answer is "not ready", quickly.
            async with asyncio.timeout(min(self._timeout, PING_TIMEOUT_SECONDS)):
                producer = await self._connected_producer()
                await producer.client.fetch_all_metadata()
        except (BusUnavailable, *_UNREACHABLE):
            return False
        return True

    def _handler_of(self, topic: str, group: str) -> Handler | None:
        return next((s.handler for s in self._subscriptions if (s.topic, s.group) == (topic, group)), None)

    async def _connected_producer(self) -> AIOKafkaProducer:
        """The producer, connecting it first if needed (the broker may have been down)."""
        async with self._producer_lock:
            if self._producer is not None:
                return self._producer
            if self._state == "stopped":
                raise BusUnavailable("the bus is stopped")
            producer = AIOKafkaProducer(
                bootstrap_servers=self._cfg.bootstrap_servers,
                client_id=self._cfg.client_id,
                acks="all",
                enable_idempotence=self._cfg.enable_idempotence,
                request_timeout_ms=self._cfg.request_timeout_ms,
            )
            try:
                async with asyncio.timeout(self._timeout):
                    await producer.start()
            except BaseException as exc:
                await _bounded(producer.stop(), self._timeout)
                if isinstance(exc, _UNREACHABLE):
                    raise BusUnavailable(
                        f"cannot connect to Kafka at {self._cfg.bootstrap_servers}: {describe(exc)}"
                    ) from exc
                raise
            self._producer = producer
            return producer

    async def _ensure_topic(self, topic: str) -> None:
        """Create the topic if it is missing: brokers that auto-create would give it their
        default partition count, and a consumer of a missing topic would wait for nothing."""
        if topic in self._known_topics:
            return
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self._cfg.bootstrap_servers,
            client_id=self._cfg.client_id,
            request_timeout_ms=self._cfg.request_timeout_ms,
        )
        try:
            async with asyncio.timeout(self._timeout):
                await admin.start()
                response = await admin.create_topics([NewTopic(topic, NEW_TOPIC_PARTITIONS, NEW_TOPIC_REPLICATION)])
        except _UNREACHABLE as exc:
            raise BusUnavailable(f"cannot reach Kafka to create topic {topic!r}: {describe(exc)}") from exc
        finally:
            await _bounded(admin.close(), self._timeout)
        for result in response.topic_errors:
            name, code = result[0], result[1]
            if code not in (0, TopicAlreadyExistsError.errno):
                # E.g. not authorised to create topics: the topic may still exist or be
                # auto-created; producing and consuming will tell.
                log.warning("could not create topic", extra={"topic": name, "error_code": code})
        self._known_topics.add(topic)

    # -- consuming ----------------------------------------------------------------------------

    async def _consume(self, subscription: Subscription) -> None:
        """One consumer for the subscription's group, started again whenever it fails."""
        backoff = RESTART_BACKOFF_SECONDS
        while self._state == "running":
            consumer = AIOKafkaConsumer(
                subscription.topic,
                bootstrap_servers=self._cfg.bootstrap_servers,
                client_id=self._cfg.client_id,
                group_id=subscription.group,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                session_timeout_ms=self._cfg.session_timeout_ms,
                heartbeat_interval_ms=max(self._cfg.session_timeout_ms // 3, 100),
                fetch_max_wait_ms=self._cfg.fetch_max_wait_ms,
            )
            try:
                await self._ensure_topic(subscription.topic)
                await consumer.start()
                backoff = RESTART_BACKOFF_SECONDS
                await self._consume_with(consumer, subscription)
            except (BusUnavailable, *_UNREACHABLE) as exc:
                log.warning(
                    "consumer lost the broker; starting again",
                    extra={
                        "topic": subscription.topic,
                        "group": subscription.group,
                        "error": describe(exc),
                        "retry_in_s": backoff,
                    },
                )
            except Exception:
                log.exception(
                    "consumer failed; starting again",
                    extra={"topic": subscription.topic, "group": subscription.group, "retry_in_s": backoff},
                )
            finally:
                await self._close(consumer, subscription.group)
            if self._state != "running":
                return
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_RESTART_BACKOFF_SECONDS)

    async def _consume_with(self, consumer: AIOKafkaConsumer, subscription: Subscription) -> None:
        while self._state == "running":
            batches = await consumer.getmany(timeout_ms=FETCH_TIMEOUT_MS, max_records=FETCH_MAX_RECORDS)
            for partition, records in batches.items():
                for record in records:
                    if self._state != "running":
                        return  # the rest is not committed: the group's next consumer gets it
                    self._busy.add(subscription)
                    try:
                        await self._handle(record, subscription)
                        # Only now: a crash before this line delivers the record again.
                        await consumer.commit({partition: record.offset + 1})
                    finally:
                        self._busy.discard(subscription)

    async def _handle(self, record: ConsumerRecord[bytes, bytes], subscription: Subscription) -> None:
        try:
            envelope = Envelope.from_json(record.value)  # None (a tombstone) is refused too
        except ValueError as exc:
            # A value no handler can read would block the partition forever: skip it, loudly.
            log.error(
                "unreadable event skipped",
                extra={
                    "topic": record.topic,
                    "partition": record.partition,
                    "offset": record.offset,
                    "group": subscription.group,
                    "error": str(exc),
                },
            )
            return
        await self._deliverer.deliver(subscription, envelope)

    async def _close(self, consumer: AIOKafkaConsumer, group: str) -> None:
        await _leave_generation_zero(consumer, group, self._timeout)
        with contextlib.suppress(*_UNREACHABLE):
            await _bounded(consumer.stop(), self._timeout)


async def _leave_generation_zero(consumer: AIOKafkaConsumer, group: str, timeout: float) -> None:
    """Tell the group coordinator this member leaves, when aiokafka would not.

    Kafka numbers group generations from 1; tansu starts at 0, and aiokafka only sends
    LeaveGroup from a generation above 0. Without this, the next consumer of the group
    waits a whole session timeout for the departed member before it gets partitions.
    """
    coordinator = getattr(consumer, "_coordinator", None)
    if coordinator is None or getattr(coordinator, "generation", None) != 0:
        return
    member_id = getattr(coordinator, "member_id", "")
    if not member_id:
        return
    with contextlib.suppress(*_UNREACHABLE):
        async with asyncio.timeout(timeout):
            await coordinator._send_req(LeaveGroupRequest(group, member_id))


async def _bounded(closing: Awaitable[object], timeout: float) -> None:
    """Await a close/stop, but never longer than `timeout` (a dead broker must not hang it)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await closing
