"""The dispatcher's own database: which events it handled, each webhook delivery, and which
orders wait for their deliveries before they can be marked Dispatched."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from shop.bus.envelope import Envelope
from shop.bus.parking import PARKED_EVENTS_TABLE
from shop.clock import utc_now
from shop.db import IN_LIST, Database, Migration, json_list
from shop.errors import Conflict, NotFound

DeliveryStatus = Literal["pending", "delivered", "failed"]

MIGRATIONS: list[Migration] = [
    """
    -- Redelivered events are recognised here and dispatch nothing twice.
    CREATE TABLE handled_events (
        event_id   TEXT PRIMARY KEY,
        order_id   INTEGER NOT NULL,
        handled_at TEXT NOT NULL
    );

    CREATE TABLE deliveries (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        delivery_key    TEXT NOT NULL UNIQUE,   -- X-Shop-Delivery: stable across retries
        event_id        TEXT NOT NULL,
        event_type      TEXT NOT NULL,
        order_id        INTEGER NOT NULL,
        target          TEXT NOT NULL,
        body            BLOB NOT NULL,          -- the exact bytes that are signed and sent
        status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        attempt_budget  INTEGER NOT NULL,       -- raised by an admin's retry
        next_attempt_at REAL NOT NULL,          -- unix time
        last_error      TEXT,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        UNIQUE (event_id, target)
    );
    CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
    CREATE INDEX deliveries_by_event ON deliveries (event_id, status);

    -- An order waits here until every delivery of its event is delivered.
    CREATE TABLE dispatches (
        order_id   INTEGER PRIMARY KEY,
        event_id   TEXT NOT NULL,
        state      TEXT NOT NULL CHECK (state IN ('waiting', 'done')),
        updated_at TEXT NOT NULL
    );
    CREATE INDEX dispatches_waiting ON dispatches (state) WHERE state = 'waiting';
    """,
    """
    -- Notifications that are not about an order (auth.password_reset_requested) are delivered
    -- the same way: order_id becomes optional. SQLite changes a column's constraint only by
    -- rebuilding the table.
    CREATE TABLE deliveries_new (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        delivery_key    TEXT NOT NULL UNIQUE,
        event_id        TEXT NOT NULL,
        event_type      TEXT NOT NULL,
        order_id        INTEGER,                -- NULL: a notification about no order
        target          TEXT NOT NULL,
        body            BLOB NOT NULL,
        status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        attempt_budget  INTEGER NOT NULL,
        next_attempt_at REAL NOT NULL,
        last_error      TEXT,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        UNIQUE (event_id, target)
    );
    INSERT INTO deliveries_new SELECT id, delivery_key, event_id, event_type, order_id, target, body, status,
        attempts, attempt_budget, next_attempt_at, last_error, created_at, updated_at FROM deliveries;
    DROP TABLE deliveries;
    ALTER TABLE deliveries_new RENAME TO deliveries;
    CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
    CREATE INDEX deliveries_by_event ON deliveries (event_id, status);
    """,
    """
    -- The retention pruner finds old rows by age without a scan (shop/retention.py).
    CREATE INDEX handled_events_by_age ON handled_events (handled_at);
    CREATE INDEX dispatches_done ON dispatches (updated_at) WHERE state = 'done';
    """,
    # Events the dispatcher's consumer gave up on: they survive a restart (shop/bus/parking.py).
    PARKED_EVENTS_TABLE,
    """
    -- Every webhook call, for an order's timeline: when, to whom, what came back, how long.
    CREATE TABLE delivery_attempts (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        delivery_id INTEGER NOT NULL,
        order_id    INTEGER,               -- NULL: a notification about no order
        target      TEXT NOT NULL,
        status_code INTEGER,               -- NULL: no answer (refused, timed out)
        error       TEXT,
        duration_ms REAL NOT NULL,
        at          TEXT NOT NULL
    );
    CREATE INDEX delivery_attempts_by_order ON delivery_attempts (order_id);
    CREATE INDEX delivery_attempts_by_delivery ON delivery_attempts (delivery_id);
    """,
]


class Delivery(BaseModel):
    id: int
    order_id: int | None  # None for a notification about no order (a password reset)
    event_type: str
    target: str
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    updated_at: str


class Attempt(BaseModel):
    """One webhook call."""

    target: str
    status_code: int | None
    error: str | None
    duration_ms: float
    at: str


class DispatchReport(BaseModel):
    """What the dispatcher knows about one order: its webhook calls, the deliveries that
    are failing, and whether its event was parked."""

    attempts: list[Attempt] = []
    failing: list[Delivery] = []
    parked_errors: list[str] = []
    # Whether the order's order.created ever reached the dispatcher (a restored backup on
    # Kafka, where the broker's offsets had moved on, can leave it without).
    received: bool = True


class DueDelivery(BaseModel):
    id: int
    delivery_key: str
    event_type: str
    target: str
    body: bytes
    attempts: int


def delivery_key(event_id: str, target: str) -> str:
    return hashlib.sha256(f"{event_id}|{target}".encode()).hexdigest()[:32]


class DispatchStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def accept(self, envelope: Envelope, order_id: int, targets: Sequence[str], attempt_budget: int) -> bool:
        """Record an order.created event and its deliveries, once. False if already handled."""
        now = utc_now()
        insert = _pending_deliveries(envelope, order_id, targets, attempt_budget)

        def unit(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO handled_events (event_id, order_id, handled_at) VALUES (?, ?, ?)",
                (envelope.event_id, order_id, now),
            )
            if cursor.rowcount == 0:
                return False
            insert(conn)
            conn.execute(
                "INSERT OR IGNORE INTO dispatches (order_id, event_id, state, updated_at) VALUES (?, ?, 'waiting', ?)",
                (order_id, envelope.event_id, now),
            )
            return True

        return await self.db.write(unit)

    async def accept_notification(self, envelope: Envelope, targets: Sequence[str], attempt_budget: int) -> None:
        """Record a notification's deliveries, once per event and target (a retried call
        with the same event adds nothing). Nothing waits for them to be delivered."""
        await self.db.write(_pending_deliveries(envelope, None, targets, attempt_budget))

    async def due(self, limit: int, exclude: Sequence[int]) -> list[DueDelivery]:
        rows = await self.db.fetch_all(
            "SELECT id, delivery_key, event_type, target, body, attempts FROM deliveries"
            " WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?",
            (time.time(), limit + len(exclude)),
        )
        skip = set(exclude)
        return [DueDelivery(**dict(row)) for row in rows if row["id"] not in skip][:limit]

    async def next_due_at(self) -> float | None:
        value = await self.db.fetch_value("SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending'")
        return None if value is None else float(value)

    async def delivered(self, delivery_id: int, status_code: int, duration_ms: float) -> None:
        now = utc_now()

        def unit(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, last_error = NULL,"
                " updated_at = ? WHERE id = ?",
                (now, delivery_id),
            )
            _record_attempt(conn, delivery_id, status_code, None, duration_ms, now)

        await self.db.write(unit)

    async def attempt_failed(
        self, delivery_id: int, error: str, retry_in: float, status_code: int | None, duration_ms: float
    ) -> None:
        """Count a failed attempt; out of budget, the delivery is 'failed' until an admin retries."""
        now = utc_now()

        def unit(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = ?, updated_at = ?,"
                " next_attempt_at = ?,"
                " status = CASE WHEN attempts + 1 >= attempt_budget THEN 'failed' ELSE 'pending' END"
                " WHERE id = ?",
                (error[:500], now, time.time() + retry_in, delivery_id),
            )
            _record_attempt(conn, delivery_id, status_code, error[:500], duration_ms, now)

        await self.db.write(unit)

    async def report(self, order_id: int) -> DispatchReport:
        attempts = await self.db.fetch_all(
            "SELECT target, status_code, error, duration_ms, at FROM delivery_attempts WHERE order_id = ? ORDER BY id",
            (order_id,),
        )
        failing = await self.db.fetch_all(
            "SELECT id, order_id, event_type, target, status, attempts, last_error, updated_at FROM deliveries"
            " WHERE order_id = ? AND status != 'delivered' AND attempts > 0 ORDER BY id",
            (order_id,),
        )
        # A parked event is found by the order id inside it; few are ever parked.
        parked = await self.db.fetch_all(
            "SELECT error FROM parked_events WHERE json_extract(CAST(envelope AS TEXT), '$.data.id') = ?",
            (order_id,),
        )
        received = await self.db.fetch_value("SELECT COUNT(*) FROM dispatches WHERE order_id = ?", (order_id,))
        return DispatchReport(
            attempts=[Attempt(**dict(row)) for row in attempts],
            failing=[Delivery(**dict(row)) for row in failing],
            parked_errors=[row["error"] for row in parked],
            received=bool(received),
        )

    async def retry(self, delivery_id: int, extra_attempts: int) -> Delivery:
        changed = await self.db.execute(
            "UPDATE deliveries SET status = 'pending', next_attempt_at = ?, updated_at = ?,"
            " attempt_budget = attempts + ? WHERE id = ? AND status != 'delivered'",
            (time.time(), utc_now(), extra_attempts, delivery_id),
        )
        if changed == 0:
            delivery = await self.get(delivery_id)  # NotFound if missing
            raise Conflict(f"Delivery {delivery.id} was already delivered.")
        return await self.get(delivery_id)

    async def get(self, delivery_id: int) -> Delivery:
        row = await self.db.fetch_one(
            "SELECT id, order_id, event_type, target, status, attempts, last_error, updated_at FROM deliveries"
            " WHERE id = ?",
            (delivery_id,),
        )
        if row is None:
            raise NotFound("Delivery not found.")
        return Delivery(**dict(row))

    async def list_page(self, status: str | None, limit: int, offset: int) -> tuple[list[Delivery], int]:
        where, params = ("WHERE status = ?", [status]) if status else ("", [])
        rows = await self.db.fetch_all(
            "SELECT id, order_id, event_type, target, status, attempts, last_error, updated_at FROM deliveries"
            f" {where} ORDER BY id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        total = await self.db.fetch_value(f"SELECT COUNT(*) FROM deliveries {where}", params)
        return [Delivery(**dict(row)) for row in rows], int(total)

    async def ready_to_dispatch(self, limit: int = 100) -> list[int]:
        """Orders whose every delivery is delivered (or that had no targets at all)."""
        rows = await self.db.fetch_all(
            "SELECT order_id FROM dispatches AS d WHERE state = 'waiting' AND NOT EXISTS"
            " (SELECT 1 FROM deliveries WHERE event_id = d.event_id AND status != 'delivered')"
            " ORDER BY order_id LIMIT ?",
            (limit,),
        )
        return [row["order_id"] for row in rows]

    # -- retention (shop/retention.py): each call deletes one small batch ---------------------

    async def prune_handled_events(self, before: str, limit: int) -> int:
        return await self.db.execute(
            "DELETE FROM handled_events WHERE rowid IN (SELECT rowid FROM handled_events WHERE handled_at < ? LIMIT ?)",
            (before, limit),
        )

    async def prune_finished(self, before: str, limit: int) -> int:
        """Delivered webhooks and the bookkeeping of orders already marked Dispatched."""
        cutoff = datetime.fromisoformat(before).timestamp()

        def unit(conn: sqlite3.Connection) -> int:
            # deliveries_due (status, next_attempt_at): a delivered row's next_attempt_at is
            # when its last attempt was due, so this is its age without a scan.
            finished = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM deliveries WHERE status = 'delivered' AND next_attempt_at < ? LIMIT ?",
                    (cutoff, limit),
                )
            ]
            conn.execute(f"DELETE FROM delivery_attempts WHERE delivery_id {IN_LIST}", (json_list(finished),))
            deliveries = conn.execute(f"DELETE FROM deliveries WHERE id {IN_LIST}", (json_list(finished),)).rowcount
            dispatches = conn.execute(
                "DELETE FROM dispatches WHERE order_id IN (SELECT order_id FROM dispatches"
                " WHERE state = 'done' AND updated_at < ? LIMIT ?)",
                (before, limit),
            ).rowcount
            return max(deliveries, dispatches)

        return await self.db.write(unit)

    async def dispatch_done(self, order_ids: Sequence[int]) -> None:
        """A batch of orders needs nothing more: one write for all of them."""
        await self.db.execute(
            f"UPDATE dispatches SET state = 'done', updated_at = ? WHERE order_id {IN_LIST}",
            (utc_now(), json_list(order_ids)),
        )


def _record_attempt(
    conn: sqlite3.Connection, delivery_id: int, status_code: int | None, error: str | None, duration_ms: float, at: str
) -> None:
    conn.execute(
        "INSERT INTO delivery_attempts (delivery_id, order_id, target, status_code, error, duration_ms, at)"
        " SELECT id, order_id, target, ?, ?, ?, ? FROM deliveries WHERE id = ?",
        (status_code, error, round(duration_ms, 1), at, delivery_id),
    )


def _pending_deliveries(
    envelope: Envelope, order_id: int | None, targets: Sequence[str], attempt_budget: int
) -> Callable[[sqlite3.Connection], None]:
    """The statement that stores one pending delivery of `envelope` per target, due now
    (once per event and target: a retry adds nothing). `order_id` None: not about an order."""
    now, now_ts = utc_now(), time.time()
    body = envelope.to_json()
    rows = [
        (
            delivery_key(envelope.event_id, target),
            envelope.event_id,
            envelope.type,
            order_id,
            target,
            body,
            attempt_budget,
            now_ts,
            now,
            now,
        )
        for target in targets
    ]

    def insert(conn: sqlite3.Connection) -> None:
        conn.executemany(
            "INSERT OR IGNORE INTO deliveries (delivery_key, event_id, event_type, order_id, target, body,"
            " status, attempt_budget, next_attempt_at, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
            rows,
        )

    return insert
