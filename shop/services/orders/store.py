"""The orders database: orders, their lines, idempotency keys, stock reservations, status
history (for SSE resume) and the outbox. Every state change writes its event to the outbox
in the same transaction, so an acknowledged change is never without its event."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from shop.bus.envelope import Envelope
from shop.clock import utc_now
from shop.db import IN_LIST, Database, Migration, json_list, rows
from shop.errors import Conflict, NotFound
from shop.services.orders.models import ALLOWED_TRANSITIONS, Order, StatusEvent

MIGRATIONS: list[Migration] = [
    """
    CREATE TABLE orders (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        customer_id    INTEGER NOT NULL,
        status         TEXT NOT NULL CHECK (status IN ('Created', 'Dispatched', 'Cancelled')),
        total_cents    INTEGER NOT NULL CHECK (total_cents >= 0),
        currency       TEXT NOT NULL,
        reservation_id TEXT NOT NULL,
        created_at     TEXT NOT NULL,
        updated_at     TEXT NOT NULL,
        updated_by     TEXT NOT NULL
    );
    CREATE INDEX orders_by_customer ON orders (customer_id, id DESC);

    CREATE TABLE order_lines (
        order_id         INTEGER NOT NULL REFERENCES orders (id),
        line_no          INTEGER NOT NULL,
        product_id       INTEGER NOT NULL,
        name             TEXT NOT NULL,
        quantity         INTEGER NOT NULL CHECK (quantity > 0),
        unit_price_cents INTEGER NOT NULL CHECK (unit_price_cents >= 0),
        PRIMARY KEY (order_id, line_no)
    );

    -- A retried POST with the same key and body returns the same order.
    CREATE TABLE idempotency_keys (
        customer_id  INTEGER NOT NULL,
        key          TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        order_id     INTEGER NOT NULL REFERENCES orders (id),
        created_at   TEXT NOT NULL,
        PRIMARY KEY (customer_id, key)
    );

    -- Stock held in the products service on behalf of an order. 'pending': asked for, order
    -- not stored yet (a crash here leaves stock to give back); 'held': the order has it;
    -- 'releasing': the order was cancelled or failed and the stock must go back.
    CREATE TABLE reservations (
        reservation_id TEXT PRIMARY KEY,
        state          TEXT NOT NULL CHECK (state IN ('pending', 'held', 'releasing')),
        updated_at     TEXT NOT NULL
    );

    -- Every status an order has had; seq is the per-order SSE id, id the global one.
    CREATE TABLE status_events (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        order_id    INTEGER NOT NULL REFERENCES orders (id),
        seq         INTEGER NOT NULL,
        customer_id INTEGER NOT NULL,
        status      TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        UNIQUE (order_id, seq)
    );
    CREATE INDEX status_events_by_customer ON status_events (customer_id, id);

    -- The transactional outbox: the relay publishes rows with published_at NULL, in id order.
    CREATE TABLE outbox (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        topic        TEXT NOT NULL,
        key          TEXT NOT NULL,
        payload      BLOB NOT NULL,
        created_at   TEXT NOT NULL,
        published_at TEXT
    );
    CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
    """,
    """
    -- The retention pruner finds old rows by age without a scan (shop/retention.py).
    CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
    CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;
    """,
    """
    -- An order's timeline (shop/services/orders/timeline.py): who made each change, the
    -- events published for it, and what the stuck-order watchdog noticed.
    ALTER TABLE status_events ADD COLUMN updated_by TEXT;
    CREATE INDEX outbox_by_key ON outbox (key);
    CREATE INDEX orders_created ON orders (created_at) WHERE status = 'Created';
    CREATE TABLE order_notes (
        order_id INTEGER NOT NULL REFERENCES orders (id),
        kind     TEXT NOT NULL,
        actor    TEXT NOT NULL,
        detail   TEXT NOT NULL,
        at       TEXT NOT NULL,
        PRIMARY KEY (order_id, kind)
    );
    """,
    """
    -- 'settling': the order was dispatched, so its stock is gone for good; products is told
    -- (client.settle) and then the row goes, instead of one held row per order for ever.
    -- SQLite changes a CHECK only by rebuilding the table.
    CREATE TABLE reservations_new (
        reservation_id TEXT PRIMARY KEY,
        state          TEXT NOT NULL CHECK (state IN ('pending', 'held', 'releasing', 'settling')),
        updated_at     TEXT NOT NULL
    );
    INSERT INTO reservations_new SELECT reservation_id, state, updated_at FROM reservations;
    DROP TABLE reservations;
    ALTER TABLE reservations_new RENAME TO reservations;
    UPDATE reservations SET state = 'settling'
        WHERE state = 'held' AND reservation_id IN (SELECT reservation_id FROM orders WHERE status = 'Dispatched');
    CREATE INDEX reservations_settling ON reservations (state) WHERE state = 'settling';
    """,
]


@dataclass(frozen=True, slots=True)
class PricedLine:
    product_id: int
    name: str
    quantity: int
    unit_price_cents: int


@dataclass(frozen=True, slots=True)
class NewOrder:
    customer_id: int
    lines: Sequence[PricedLine]
    currency: str
    reservation_id: str
    updated_by: str
    idempotency_key: str | None
    request_hash: str | None


class KeyTaken(Conflict):
    """The Idempotency-Key was taken by another request between the check and the commit."""


@dataclass(frozen=True, slots=True)
class IdempotentHit:
    order_id: int
    request_hash: str


_ORDER_COLUMNS = "id, customer_id, status, total_cents, currency, created_at, updated_at, updated_by"
# A page of orders with the total count, each order as its API JSON with every line, built
# by SQLite in one statement: one trip, and no Python object per field. Money is cents / 100.0
# (the same double as cents / 100 in Python); a scalar subquery loses the JSON subtype,
# hence json() around the lines.
_PAGE = (
    f"WITH page AS (SELECT {_ORDER_COLUMNS}, COUNT(*) OVER () AS total FROM orders {{where}}"
    " ORDER BY id DESC LIMIT ? OFFSET ?)"
    " SELECT total, json_object('id', id, 'customer_id', customer_id, 'status', status,"
    "  'items', json((SELECT json_group_array(json_object('product_id', product_id, 'name', name,"
    "    'quantity', quantity, 'unit_price', unit_price_cents / 100.0,"
    "    'line_total', unit_price_cents * quantity / 100.0, 'image', NULL))"
    "   FROM (SELECT * FROM order_lines WHERE order_id = page.id ORDER BY line_no))),"
    "  'total', total_cents / 100.0, 'currency', currency, 'created_at', created_at,"
    "  'updated_at', updated_at, 'updated_by', updated_by) AS document"
    " FROM page ORDER BY id DESC"
)

_ONE = _PAGE.format(where="WHERE id = ?")  # parameters (order_id, 1, 0)

OrderDocument = dict[str, Any]  # an order as the API answers it (see models.Order)


class OrderStore:
    def __init__(self, db: Database, topic: str) -> None:
        self.db = db
        self.topic = topic
        # Counts finished changes to orders (placed, status changed), committed or rolled
        # back: the order lists' read cache is dropped whenever it moves on.
        self.generation = 0

    # -- creation ---------------------------------------------------------------------------

    async def idempotent_hit(self, customer_id: int, key: str) -> IdempotentHit | None:
        row = await self.db.fetch_one(
            "SELECT order_id, request_hash FROM idempotency_keys WHERE customer_id = ? AND key = ?",
            (customer_id, key),
        )
        return None if row is None else IdempotentHit(row["order_id"], row["request_hash"])

    async def begin_reservation(
        self, reservation_id: str, customer_id: int, idempotency_key: str | None
    ) -> IdempotentHit | None:
        """The first write of a placement: the order this customer's Idempotency-Key already
        made, if any; else the reservation is recorded as 'pending' (and None returned)."""

        def unit(conn: sqlite3.Connection) -> IdempotentHit | None:
            if idempotency_key is not None:
                row = conn.execute(
                    "SELECT order_id, request_hash FROM idempotency_keys WHERE customer_id = ? AND key = ?",
                    (customer_id, idempotency_key),
                ).fetchone()
                if row is not None:
                    return IdempotentHit(row["order_id"], row["request_hash"])
            conn.execute(
                "INSERT INTO reservations (reservation_id, state, updated_at) VALUES (?, 'pending', ?)",
                (reservation_id, utc_now()),
            )
            return None

        return await self.db.write(unit)

    async def abandon_reservation(self, reservation_id: str) -> bool:
        """A placement failed: its reservation must go back, unless an order holds it after
        all (a cancelled request whose order was already being committed). True if the
        stock is to be released."""

        changed = await self.db.execute(
            "UPDATE reservations SET state = 'releasing', updated_at = ?"
            " WHERE reservation_id = ? AND state NOT IN ('held', 'settling')",
            (utc_now(), reservation_id),
        )
        return changed == 1

    async def reservation_released(self, reservation_id: str) -> None:
        await self.db.execute("DELETE FROM reservations WHERE reservation_id = ?", (reservation_id,))

    async def reservations_to_release(self, pending_before: str) -> list[str]:
        """Reservations whose stock must go back: every 'releasing' one, and the 'pending'
        ones older than `pending_before` (no request waits on them any more)."""
        found = await self.db.fetch_all(
            "SELECT reservation_id FROM reservations"
            " WHERE state = 'releasing' OR (state = 'pending' AND updated_at < ?)",
            (pending_before,),
        )
        return [row["reservation_id"] for row in found]

    async def reservations_to_settle(self, limit: int) -> list[str]:
        """Reservations of dispatched orders that products has not been told about yet."""
        found = await self.db.fetch_all(
            "SELECT reservation_id FROM reservations WHERE state = 'settling' LIMIT ?", (limit,)
        )
        return [row["reservation_id"] for row in found]

    async def reservations_settled(self, reservation_ids: Sequence[str]) -> None:
        await self.db.execute(
            f"DELETE FROM reservations WHERE reservation_id {IN_LIST} AND state = 'settling'",
            (json_list(reservation_ids),),
        )

    async def create(self, new: NewOrder) -> Order:
        """Store the order, its lines, its idempotency key, its first status and its
        order.created event in one transaction. Raises Conflict if the idempotency key was
        taken meanwhile (the caller then returns the order that took it)."""
        try:
            return await self.db.write(lambda conn: _create(conn, new, self.topic))
        except sqlite3.IntegrityError:
            raise KeyTaken("This Idempotency-Key was used by a concurrent request.") from None
        finally:
            self.generation += 1

    # -- reads ------------------------------------------------------------------------------

    async def get(self, order_id: int) -> Order:
        found = await self.db.fetch_all(_ONE, (order_id, 1, 0))
        if not found:
            raise NotFound("Order not found.")
        return Order.model_validate(_document(found[0]))

    async def list_page(self, customer_id: int | None, limit: int, offset: int) -> tuple[list[OrderDocument], int]:
        """A page of orders, newest first, as API documents (no model per order), and the total."""
        where, params = ("WHERE customer_id = ?", [customer_id]) if customer_id is not None else ("", [])
        found = await self.db.fetch_all(_PAGE.format(where=where), [*params, limit, offset])
        if found:
            return [_document(row) for row in found], int(found[0]["total"])
        if offset == 0:
            return [], 0
        # Past the end: the page is empty but the client still wants the total.
        return [], int(await self.db.fetch_value(f"SELECT COUNT(*) FROM orders {where}", params))

    async def order_events(self, order_id: int, after: int) -> list[StatusEvent]:
        """One order's status events after a per-order SSE id (seq)."""
        found = await self.db.fetch_all(
            "SELECT * FROM status_events WHERE order_id = ? AND seq > ? ORDER BY seq", (order_id, after)
        )
        return [_status_event(row) for row in found]

    async def customer_events(self, customer_id: int | None, after: int) -> list[StatusEvent]:
        """Status events after a global SSE id: one customer's orders, or (None) everyone's."""
        if customer_id is None:
            found = await self.db.fetch_all("SELECT * FROM status_events WHERE id > ? ORDER BY id", (after,))
        else:
            found = await self.db.fetch_all(
                "SELECT * FROM status_events WHERE customer_id = ? AND id > ? ORDER BY id", (customer_id, after)
            )
        return [_status_event(row) for row in found]

    async def current_statuses(self, customer_id: int | None, limit: int = 200) -> list[StatusEvent]:
        """The latest status of the newest `limit` orders: one customer's, or (None) anyone's."""
        where, params = ("WHERE customer_id = ?", [customer_id]) if customer_id is not None else ("", [])
        found = await self.db.fetch_all(
            "SELECT * FROM status_events WHERE id IN (SELECT MAX(id) FROM status_events"
            f" WHERE order_id IN (SELECT id FROM orders {where} ORDER BY id DESC LIMIT ?)"
            " GROUP BY order_id) ORDER BY id",
            [*params, limit],
        )
        return [_status_event(row) for row in found]

    # -- transitions ------------------------------------------------------------------------

    async def transition(self, order_id: int, to: str, updated_by: str) -> tuple[Order, bool]:
        """Move an order to `to` if the transition is allowed. Returns (order, changed):
        asking for the status an order already has changes nothing (redelivery-safe)."""
        try:
            return await self.db.write(lambda conn: _transition(conn, order_id, to, updated_by, self.topic))
        finally:
            self.generation += 1

    async def reservation_of(self, order_id: int) -> str:
        value = await self.db.fetch_value("SELECT reservation_id FROM orders WHERE id = ?", (order_id,))
        if value is None:
            raise NotFound("Order not found.")
        return str(value)

    # -- outbox -----------------------------------------------------------------------------

    async def unpublished(self, limit: int) -> list[tuple[int, str, str, bytes]]:
        found = await self.db.fetch_all(
            "SELECT id, topic, key, payload FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT ?", (limit,)
        )
        return [(row["id"], row["topic"], row["key"], bytes(row["payload"])) for row in found]

    async def mark_published(self, outbox_ids: list[int]) -> None:
        await self.db.execute(
            f"UPDATE outbox SET published_at = ? WHERE id {IN_LIST}", (utc_now(), json_list(outbox_ids))
        )

    # -- the timeline and the watchdog --------------------------------------------------------

    async def history(self, order_id: int) -> list[sqlite3.Row]:
        """Every status the order had: (status, updated_at, updated_by), oldest first."""
        return await self.db.fetch_all(
            "SELECT status, updated_at, updated_by FROM status_events WHERE order_id = ? ORDER BY seq", (order_id,)
        )

    async def events_of(self, order_id: int) -> list[sqlite3.Row]:
        """The order's events still in the outbox (published ones are pruned after a while)."""
        return await self.db.fetch_all(
            "SELECT topic, json_extract(CAST(payload AS TEXT), '$.type') AS type,"
            " json_extract(CAST(payload AS TEXT), '$.event_id') AS event_id, created_at, published_at"
            " FROM outbox WHERE key = ? ORDER BY id",
            (str(order_id),),
        )

    async def notes(self, order_id: int) -> list[sqlite3.Row]:
        return await self.db.fetch_all(
            "SELECT kind, actor, detail, at FROM order_notes WHERE order_id = ? ORDER BY at", (order_id,)
        )

    async def add_note(self, order_id: int, kind: str, actor: str, detail: str) -> None:
        """Once per order and kind: a note already there is kept as it was first written."""
        await self.db.execute(
            "INSERT OR IGNORE INTO order_notes (order_id, kind, actor, detail, at) VALUES (?, ?, ?, ?, ?)",
            (order_id, kind, actor, detail, utc_now()),
        )

    async def created_before(self, moment: str, limit: int) -> list[sqlite3.Row]:
        """Orders still Created that were placed before `moment`, oldest first."""
        return await self.db.fetch_all(
            "SELECT id, created_at FROM orders WHERE status = 'Created' AND created_at < ? ORDER BY created_at LIMIT ?",
            (moment, limit),
        )

    async def publish_created_again(self, order_id: int, note: str) -> bool:
        """Put the order's own order.created (the same event id, so nothing is done twice)
        in the outbox once more, once per order. False if it was done before, or the event
        is no longer in the outbox."""

        def unit(conn: sqlite3.Connection) -> bool:
            original = conn.execute(
                "SELECT topic, key, payload FROM outbox WHERE key = ?"
                " AND json_extract(CAST(payload AS TEXT), '$.type') = 'order.created' ORDER BY id LIMIT 1",
                (str(order_id),),
            ).fetchone()
            if original is None:
                return False
            noted = conn.execute(
                "INSERT OR IGNORE INTO order_notes (order_id, kind, actor, detail, at) VALUES (?, 'republished', 'watchdog', ?, ?)",
                (order_id, note, utc_now()),
            ).rowcount
            if not noted:
                return False
            conn.execute(
                "INSERT INTO outbox (topic, key, payload, created_at) VALUES (?, ?, ?, ?)",
                (original["topic"], original["key"], original["payload"], utc_now()),
            )
            return True

        return await self.db.write(unit)

    async def unpublished_events(self, order_id: int) -> int:
        return int(
            await self.db.fetch_value(
                "SELECT COUNT(*) FROM outbox WHERE key = ? AND published_at IS NULL", (str(order_id),)
            )
        )

    # -- retention (shop/retention.py): each call deletes one small batch ---------------------

    async def prune_idempotency_keys(self, before: str, limit: int) -> int:
        return await self.db.execute(
            "DELETE FROM idempotency_keys WHERE rowid IN"
            " (SELECT rowid FROM idempotency_keys WHERE created_at < ? LIMIT ?)",
            (before, limit),
        )

    async def prune_published_outbox(self, before: str, limit: int) -> int:
        return await self.db.execute(
            "DELETE FROM outbox WHERE id IN"
            " (SELECT id FROM outbox WHERE published_at IS NOT NULL AND published_at < ? LIMIT ?)",
            (before, limit),
        )


# -- units of work: each runs whole on the writer's thread --------------------------------------


def _create(conn: sqlite3.Connection, new: NewOrder, topic: str) -> Order:
    now = utc_now()
    total = sum(line.unit_price_cents * line.quantity for line in new.lines)
    cursor = conn.execute(
        "INSERT INTO orders (customer_id, status, total_cents, currency, reservation_id,"
        " created_at, updated_at, updated_by) VALUES (?, 'Created', ?, ?, ?, ?, ?, ?)",
        (new.customer_id, total, new.currency, new.reservation_id, now, now, new.updated_by),
    )
    order_id = cursor.lastrowid
    assert order_id is not None  # set by the INSERT just run
    conn.executemany(
        "INSERT INTO order_lines (order_id, line_no, product_id, name, quantity, unit_price_cents)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            (order_id, no, line.product_id, line.name, line.quantity, line.unit_price_cents)
            for no, line in enumerate(new.lines, start=1)
        ],
    )
    if new.idempotency_key is not None:
        conn.execute(
            "INSERT INTO idempotency_keys (customer_id, key, request_hash, order_id, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (new.customer_id, new.idempotency_key, new.request_hash, order_id, now),
        )
    conn.execute(
        "UPDATE reservations SET state = 'held', updated_at = ? WHERE reservation_id = ?",
        (now, new.reservation_id),
    )
    # Read back by the query every read uses: an order and its lines have one shape.
    document = _load_document(conn, order_id)
    _record_status(conn, document, "order.created", topic)
    return Order.model_validate(document)


def _transition(conn: sqlite3.Connection, order_id: int, to: str, updated_by: str, topic: str) -> tuple[Order, bool]:
    document = _load_document(conn, order_id)
    if document["status"] == to:
        return Order.model_validate(document), False
    if to not in ALLOWED_TRANSITIONS[document["status"]]:
        raise Conflict(f"An order that is {document['status']} cannot become {to}.")
    now = utc_now()
    conn.execute(
        "UPDATE orders SET status = ?, updated_at = ?, updated_by = ? WHERE id = ?",
        (to, now, updated_by, order_id),
    )
    # Cancelled: the stock goes back. Dispatched: it is gone for good, which products is told.
    conn.execute(
        "UPDATE reservations SET state = ?, updated_at = ? WHERE reservation_id ="
        " (SELECT reservation_id FROM orders WHERE id = ?)",
        ("releasing" if to == "Cancelled" else "settling", now, order_id),
    )
    document.update(status=to, updated_at=now, updated_by=updated_by)
    event_type = "order.cancelled" if to == "Cancelled" else "order.status_changed"
    _record_status(conn, document, event_type, topic)
    return Order.model_validate(document), True


def _load_document(conn: sqlite3.Connection, order_id: int) -> OrderDocument:
    found = rows(conn, _ONE, (order_id, 1, 0))
    if not found:
        raise NotFound("Order not found.")
    return _document(found[0])


def _record_status(conn: sqlite3.Connection, order: OrderDocument, event_type: str, topic: str) -> None:
    conn.execute(
        "INSERT INTO status_events (order_id, seq, customer_id, status, updated_at, updated_by)"
        " VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM status_events WHERE order_id = ?), ?, ?, ?, ?)",
        (order["id"], order["id"], order["customer_id"], order["status"], order["updated_at"], order["updated_by"]),
    )
    envelope = Envelope.new(event_type, order)
    conn.execute(
        "INSERT INTO outbox (topic, key, payload, created_at) VALUES (?, ?, ?, ?)",
        (topic, str(order["id"]), envelope.to_json(), envelope.occurred_at),
    )


def _document(row: sqlite3.Row) -> OrderDocument:
    return orjson.loads(row["document"])  # type: ignore[no-any-return]  # always an object


def _status_event(row: sqlite3.Row) -> StatusEvent:
    return StatusEvent(
        seq=row["seq"],
        global_id=row["id"],
        id=row["order_id"],
        customer_id=row["customer_id"],
        status=row["status"],
        updated_at=row["updated_at"],
    )
