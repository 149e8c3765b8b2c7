"""The dispatcher's work: accept order.created events, send the signed webhooks with
retries, and mark orders Dispatched once every target acknowledged.

Deliveries are persisted before the consumer acknowledges the event, so a crash loses
nothing; each delivery is attempted in its own task, so a slow or dead target holds up no
other order."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import logging
import time
from collections.abc import Sequence

import aiohttp

from shop.bus.envelope import Envelope
from shop.config import DispatcherConfig
from shop.dispatcher.store import DispatchStore, DueDelivery
from shop.errors import Conflict, NotFound, ShopError
from shop.registry import Registry
from shop.services.orders.client import ORDERS, OrdersClient

log = logging.getLogger("shop.dispatcher")

DISPATCHER_ACTOR = "order-dispatcher"
MAX_IN_FLIGHT = 32
MAX_BACKOFF_SECONDS = 300.0
IDLE_POLL_SECONDS = 1.0
# Orders marked Dispatched per pass; a full pass is followed by another at once, so a
# backlog drains at full speed, not one batch per poll.
DISPATCH_BATCH = 100


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Dispatcher:
    def __init__(
        self, store: DispatchStore, registry: Registry, cfg: DispatcherConfig, notification_targets: Sequence[str] = ()
    ) -> None:
        self.store = store
        self.notification_targets = list(notification_targets)
        self.registry = registry
        self.cfg = cfg
        self._wakeup = asyncio.Event()
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    # -- the bus handler --------------------------------------------------------------------

    async def handle(self, envelope: Envelope) -> None:
        if envelope.type != "order.created":
            return
        order_id = envelope.data.get("id")
        if not isinstance(order_id, int):
            log.error("order.created without an order id; ignored", extra={"event_id": envelope.event_id})
            return
        accepted = await self.store.accept(envelope, order_id, self.cfg.webhooks, self.cfg.max_attempts)
        if accepted:
            log.info("order accepted for dispatch", extra={"order_id": order_id, "event_id": envelope.event_id})
            self.wake()
        else:
            log.info("redelivered event ignored", extra={"order_id": order_id, "event_id": envelope.event_id})

    async def notify(self, envelope: Envelope) -> None:
        """Deliver a notification about no order (auth.password_reset_requested) to
        [notifications] webhooks: stored first, then sent, retried and logged like any
        delivery. Returns once it is stored."""
        await self.store.accept_notification(envelope, self.notification_targets, self.cfg.max_attempts)
        log.info("notification accepted", extra={"event_id": envelope.event_id, "event_type": envelope.type})
        self.wake()

    def wake(self) -> None:
        self._wakeup.set()

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.cfg.request_timeout_seconds)
        self._session = aiohttp.ClientSession(timeout=timeout)
        self._task = asyncio.create_task(self._run(), name="dispatcher")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._in_flight.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _run(self) -> None:
        while True:
            self._wakeup.clear()
            try:
                await self._start_due_deliveries()
                if await self._dispatch_ready_orders():
                    continue  # a full batch: more may be ready now, do not wait for a wake-up
                wait = await self._seconds_until_next_due()
            except Exception:
                log.exception("dispatcher loop failed; retrying")
                wait = IDLE_POLL_SECONDS
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for drops a cancellation that
            # arrives as the event is set, and stop() then waits forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wakeup.wait()

    async def _seconds_until_next_due(self) -> float:
        next_due = await self.store.next_due_at()
        if next_due is None:
            return IDLE_POLL_SECONDS
        return min(max(next_due - time.time(), 0.0), IDLE_POLL_SECONDS)

    # -- deliveries -------------------------------------------------------------------------

    async def _start_due_deliveries(self) -> None:
        room = MAX_IN_FLIGHT - len(self._in_flight)
        if room <= 0:
            return
        for delivery in await self.store.due(room, exclude=list(self._in_flight)):
            task = asyncio.create_task(self._attempt(delivery), name=f"delivery-{delivery.id}")
            self._in_flight[delivery.id] = task
            task.add_done_callback(functools.partial(self._finished_task, delivery.id))

    def _finished_task(self, delivery_id: int, task: asyncio.Task[None]) -> None:
        self._finished(delivery_id)

    def _finished(self, delivery_id: int) -> None:
        self._in_flight.pop(delivery_id, None)
        self.wake()

    async def _attempt(self, delivery: DueDelivery) -> None:
        assert self._session is not None
        headers = {
            "Content-Type": "application/json",
            "X-Shop-Signature": sign(delivery.body, self.cfg.webhook_secret),
            "X-Shop-Event": delivery.event_type,
            "X-Shop-Delivery": delivery.delivery_key,
        }
        started = time.perf_counter()
        status_code: int | None = None
        try:
            async with self._session.post(delivery.target, data=delivery.body, headers=headers) as response:
                status_code = response.status
                ok, error = 200 <= response.status < 300, f"HTTP {response.status}"
        except TimeoutError:
            ok, error = False, "timed out"
        except aiohttp.ClientError as exc:
            ok, error = False, f"{type(exc).__name__}: {exc}"
        duration_ms = (time.perf_counter() - started) * 1000
        if ok:
            await self.store.delivered(delivery.id, status_code or 200, duration_ms)
            return
        retry_in = min(self.cfg.retry_base_seconds * 2**delivery.attempts, MAX_BACKOFF_SECONDS)
        await self.store.attempt_failed(delivery.id, error, retry_in, status_code, duration_ms)
        log.warning(
            "webhook delivery failed",
            extra={
                "delivery_id": delivery.id,
                "target": delivery.target,
                "attempt": delivery.attempts + 1,
                "error": error,
            },
        )

    # -- marking orders ---------------------------------------------------------------------

    async def _dispatch_ready_orders(self) -> bool:
        """Mark ready orders Dispatched, a batch at a time; True when the batch was full and
        went through. The orders of a batch are marked concurrently, so their writes share
        commits; the dispatcher's own bookkeeping for the batch is one write."""
        ready = await self.store.ready_to_dispatch(DISPATCH_BATCH)
        if not ready:
            return False
        orders = self.registry.get(ORDERS)
        finished = await asyncio.gather(*(self._mark_dispatched(orders, order_id) for order_id in ready))
        done = [order_id for order_id, ok in zip(ready, finished, strict=True) if ok]
        if done:
            await self.store.dispatch_done(done)
        return len(done) == len(ready) == DISPATCH_BATCH

    async def _mark_dispatched(self, orders: OrdersClient, order_id: int) -> bool:
        """True when the order needs nothing more from the dispatcher."""
        try:
            await orders.mark_dispatched(order_id, DISPATCHER_ACTOR)
        except Conflict as exc:
            # Cancelled before every target acknowledged: the customer's right, nothing to mark
            # (a warning per cancelled order would bury the ones that matter).
            log.info("order not dispatched", extra={"order_id": order_id, "reason": exc.detail})
        except NotFound as exc:  # gone from orders: not something the shop ever does itself
            log.warning("order not dispatched", extra={"order_id": order_id, "reason": exc.detail})
        except ShopError as exc:
            log.warning("orders unavailable; dispatch waits", extra={"order_id": order_id, "reason": exc.detail})
            return False  # a later pass tries again
        else:
            log.info("order dispatched", extra={"order_id": order_id})
        return True
