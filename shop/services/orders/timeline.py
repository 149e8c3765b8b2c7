"""Why an order is where it is: every status change with its time, cause and actor, the
events published for it, every webhook call the dispatcher made for it (target, status
code, duration), and what the stuck-order watchdog noticed; oldest first."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from shop.dispatcher.client import DISPATCHER
from shop.errors import ShopError
from shop.registry import Registry
from shop.services.orders.store import OrderStore

Actor = str  # "customer", "admin", "order-dispatcher", "watchdog", "orders"

CAUSES = {
    "Created": "placed",
    "Cancelled": "cancelled",
    "Dispatched": "every webhook target acknowledged",
}


class TimelineEntry(BaseModel):
    at: str
    kind: Literal["status", "event", "delivery", "watchdog"]
    actor: Actor
    cause: str
    status: str | None = None  # kind "status"
    event_type: str | None = None  # kind "event"
    event_id: str | None = None
    published_at: str | None = None
    target: str | None = None  # kind "delivery"
    status_code: int | None = None
    duration_ms: float | None = None


class Timeline(BaseModel):
    order_id: int
    entries: list[TimelineEntry]
    # False: the dispatcher did not answer, so its webhook calls are missing here.
    deliveries_known: bool


def actor_of(updated_by: str | None) -> Actor:
    """ "customer:7" -> "customer"; "order-dispatcher" stays as it is."""
    return (updated_by or "orders").partition(":")[0]


async def timeline(store: OrderStore, registry: Registry, order_id: int) -> Timeline:
    entries = [
        TimelineEntry(
            at=row["updated_at"],
            kind="status",
            actor=actor_of(row["updated_by"]),
            cause=CAUSES.get(row["status"], row["status"]),
            status=row["status"],
        )
        for row in await store.history(order_id)
    ]
    for row in await store.events_of(order_id):
        published = row["published_at"]
        entries.append(
            TimelineEntry(
                at=published or row["created_at"],
                kind="event",
                actor="orders",
                cause=f"published to {row['topic']}" if published else "waiting in the outbox: not published yet",
                event_type=row["type"],
                event_id=row["event_id"],
                published_at=published,
            )
        )
    for row in await store.notes(order_id):
        entries.append(TimelineEntry(at=row["at"], kind="watchdog", actor=row["actor"], cause=row["detail"]))
    deliveries_known = True
    try:
        report = await registry.get(DISPATCHER).report(order_id)
    except (ShopError, RuntimeError):  # down, or no dispatcher configured at all
        deliveries_known = False
    else:
        for attempt in report.attempts:
            answer = f"HTTP {attempt.status_code}" if attempt.status_code is not None else attempt.error
            entries.append(
                TimelineEntry(
                    at=attempt.at,
                    kind="delivery",
                    actor="order-dispatcher",
                    cause=f"webhook: {answer} in {attempt.duration_ms:.0f} ms",
                    target=attempt.target,
                    status_code=attempt.status_code,
                    duration_ms=attempt.duration_ms,
                )
            )
    entries.sort(key=lambda entry: entry.at)  # RFC 3339 UTC with milliseconds sorts as text
    return Timeline(order_id=order_id, entries=entries, deliveries_known=deliveries_known)
