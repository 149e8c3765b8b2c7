"""The stuck-order watchdog: an order still Created `[dispatcher] stuck_after_seconds`
after it was placed is reported, with the likeliest reason: its event is not published
(the bus is down, or the relay is off), its event was parked, a webhook target keeps
failing, the dispatcher never received it (then it is published again, once), or the
dispatcher cannot be asked. The list feeds the shop_orders_stuck metric,
a line in /ready's details, the admin page, and a note in the order's timeline."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from pydantic import BaseModel

from shop.background import BackgroundLoop
from shop.clock import utc_now
from shop.dispatcher.client import DISPATCHER
from shop.errors import ShopError
from shop.registry import Registry
from shop.services.orders.store import OrderStore

log = logging.getLogger("shop.orders.watchdog")

# At most this many stuck orders are examined and listed: the oldest, which matter most.
MAX_REPORTED = 100
MAX_CHECK_SECONDS = 30.0


class StuckOrder(BaseModel):
    order_id: int
    created_at: str
    reason: str


class Watchdog(BackgroundLoop):
    task_name = "stuck-order-watchdog"

    def __init__(
        self,
        store: Callable[[], OrderStore],
        registry: Registry,
        stuck_after_seconds: float,
        on_outbox_write: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__()
        self._store_of = store
        self._on_outbox_write = on_outbox_write
        self._registry = registry
        self._stuck_after = stuck_after_seconds
        self.stuck: list[StuckOrder] = []

    async def check(self) -> list[StuckOrder]:
        store = self._store_of()
        found = []
        for row in await store.created_before(utc_now(self._stuck_after), MAX_REPORTED):
            reason = await self._reason(store, row["id"])
            found.append(StuckOrder(order_id=row["id"], created_at=row["created_at"], reason=reason))
            await store.add_note(
                row["id"], "stuck", "watchdog", f"still Created after {self._stuck_after:g} s: {reason}"
            )
        if len(found) > len(self.stuck):
            log.warning("orders stuck in Created", extra={"count": len(found), "oldest": found[0].order_id})
        self.stuck = found
        return found

    async def _reason(self, store: OrderStore, order_id: int) -> str:
        if await store.unpublished_events(order_id):
            return "bus down: the order's event is not published yet"
        try:
            report = await self._registry.get(DISPATCHER).report(order_id)
        except RuntimeError:
            return "no dispatcher is configured"
        except ShopError as exc:
            return f"dispatcher unavailable: {exc.detail}"
        if report.parked_errors:
            return f"event parked: {report.parked_errors[-1]}"
        if report.failing:
            delivery = report.failing[0]
            return f"target failing: {delivery.target} ({delivery.last_error}, {delivery.attempts} attempts)"
        if not report.received:
            # Published, yet the dispatcher never had it: the bus lost it (a backup restored
            # while Kafka had moved on). The same event once more; the dispatcher is
            # idempotent by event id, so a late original does nothing twice.
            note = "the dispatcher never received its event: published it again"
            if await store.publish_created_again(order_id, note):
                self._on_outbox_write()
                return note
            return "the dispatcher never received its event (published again already)"
        return "waiting for the dispatcher"

    async def _run(self) -> None:
        interval = min(self._stuck_after / 4, MAX_CHECK_SECONDS)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.check()
            except Exception:
                log.exception("stuck-order check failed; will try again")
