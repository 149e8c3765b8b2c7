"""The products database: parameterised SQL only; returns models, raises domain errors.

Lists, images, reviews and specifications live as JSON in the product's own row, so every
read is one statement (two for a list page past its end) and never one per product.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable, Collection, Sequence
from typing import Any, NamedTuple, TypeVar

import orjson

from shop.clock import utc_now
from shop.db import IN_LIST, Database, Migration, json_list, rows
from shop.errors import Conflict, FieldError, NotFound, ValidationFailed
from shop.pathparams import MAX_ID
from shop.readcache import ReadCache
from shop.services.products.errors import NotEnoughStock, ProductMissing
from shop.services.products.models import (
    MAX_LINE_QUANTITY,
    MAX_LINES,
    Product,
    ProductCreate,
    ProductFilters,
    ProductUpdate,
    ReservedProduct,
    StockLine,
    check_reservation_id,
)

MIGRATIONS: list[Migration] = [
    """
    CREATE TABLE products (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        name            TEXT NOT NULL,
        description     TEXT NOT NULL DEFAULT '',
        price_cents     INTEGER NOT NULL CHECK (price_cents > 0),
        currency        TEXT NOT NULL DEFAULT 'USD',
        stock_quantity  INTEGER NOT NULL DEFAULT 0 CHECK (stock_quantity >= 0),
        category        TEXT NOT NULL DEFAULT '',
        brand           TEXT NOT NULL DEFAULT '',
        sku             TEXT NOT NULL UNIQUE COLLATE NOCASE,
        images          TEXT NOT NULL DEFAULT '[]',
        ratings         REAL NOT NULL DEFAULT 0,
        reviews         TEXT NOT NULL DEFAULT '[]',
        additional_info TEXT NOT NULL DEFAULT '',
        specifications  TEXT NOT NULL DEFAULT '{}',
        model           TEXT NOT NULL DEFAULT '',
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL
    );
    CREATE INDEX products_category ON products (category COLLATE NOCASE);
    CREATE INDEX products_brand ON products (brand COLLATE NOCASE);
    CREATE INDEX products_price ON products (price_cents);
    CREATE INDEX products_created ON products (created_at);

    -- One row per product of a reservation, kept after release (released_at set) so that a
    -- late retry of the same reservation id reserves nothing again. `product` is the product
    -- as it was right after the reservation: a retry answers exactly what the first call did.
    CREATE TABLE reservations (
        reservation_id TEXT NOT NULL,
        line_no        INTEGER NOT NULL,
        product_id     INTEGER NOT NULL,
        quantity       INTEGER NOT NULL CHECK (quantity > 0),
        product        TEXT NOT NULL,
        created_at     TEXT NOT NULL,
        released_at    TEXT,
        PRIMARY KEY (reservation_id, product_id)
    );

    -- Which one-off data loads have run: the catalogue is seeded once per database, and
    -- never again even if every product is later deleted.
    CREATE TABLE seeds (
        name       TEXT PRIMARY KEY,
        applied_at TEXT NOT NULL
    );
    """,
    """
    -- The retention pruner finds released reservations by age without a scan.
    CREATE INDEX reservations_released ON reservations (released_at) WHERE released_at IS NOT NULL;
    """,
    """
    -- A reservation whose order was dispatched is final: its stock never goes back, and the
    -- row is kept only as a released one is (for a late retry), then pruned the same way.
    ALTER TABLE reservations ADD COLUMN settled_at TEXT;
    CREATE INDEX reservations_settled ON reservations (settled_at) WHERE settled_at IS NOT NULL;
    """,
]

_COLUMNS = (
    "id, name, description, price_cents, currency, stock_quantity, category, brand, sku, images,"
    " ratings, reviews, additional_info, specifications, model, created_at, updated_at"
)
_JSON_FIELDS = ("images", "reviews", "specifications")
# Columns an update may set, in a fixed order; the names never come from the request.
_UPDATABLE = (
    "name",
    "description",
    "price_cents",
    "currency",
    "stock_quantity",
    "category",
    "brand",
    "sku",
    "images",
    "ratings",
    "reviews",
    "additional_info",
    "specifications",
    "model",
)
_INSERT = (
    "INSERT INTO products (name, description, price_cents, currency, stock_quantity, category, brand,"
    " sku, images, ratings, reviews, additional_info, specifications, model, created_at, updated_at)"
    " VALUES (:name, :description, :price_cents, :currency, :stock_quantity, :category, :brand, :sku,"
    " :images, :ratings, :reviews, :additional_info, :specifications, :model, :now, :now)"
)
_ORDER_BY = {
    None: "id",
    "name": "name COLLATE NOCASE, id",
    "-name": "name COLLATE NOCASE DESC, id DESC",
    "price": "price_cents, id",
    "-price": "price_cents DESC, id",
    "-created_at": "created_at DESC, id DESC",
}
_IDS_PER_STATEMENT = 500  # ids looked up per statement: a bounded list each
_MAX_LABELS = 100_000  # a bound on memory for a very large catalogue
CATALOGUE_SEED = "catalogue"
T = TypeVar("T")


class Label(NamedTuple):
    """What an order line shows of a product: its current name and first image."""

    name: str
    image: str | None


# What a reservation answers of a product (models.ReservedProduct), as JSON built by SQLite:
# stored as it was and handed to pydantic's JSON parser, no Python object per field between.
# (Rows written before this hold the whole product; ReservedProduct ignores the rest.)
_RESERVED_JSON = (
    "json_object('id', id, 'name', name, 'price', price_cents / 100.0, 'currency', currency,"
    " 'stock_quantity', stock_quantity)"
)


def _product(row: sqlite3.Row) -> Product:
    return Product(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        price=row["price_cents"] / 100,
        currency=row["currency"],
        stock_quantity=row["stock_quantity"],
        category=row["category"],
        brand=row["brand"],
        sku=row["sku"],
        images=orjson.loads(row["images"]),
        ratings=row["ratings"],
        reviews=orjson.loads(row["reviews"]),
        additional_info=row["additional_info"],
        specifications=orjson.loads(row["specifications"]),
        model=row["model"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _column_values(fields: dict[str, Any]) -> dict[str, Any]:
    """Request fields -> column values: price in cents, lists and objects as JSON."""
    values = dict(fields)
    if "price" in values:
        values["price_cents"] = int(values.pop("price") * 100)  # Decimal: exact
    for name in _JSON_FIELDS:
        if name in values:
            values[name] = json.dumps(values[name], ensure_ascii=False, separators=(",", ":"))
    return values


def _is_unique_violation(exc: sqlite3.IntegrityError) -> bool:
    return getattr(exc, "sqlite_errorname", "") == "SQLITE_CONSTRAINT_UNIQUE"


def _like_pattern(text: str) -> str:
    # The user's % and _ are literal characters, not wildcards.
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(filters: ProductFilters) -> tuple[str, dict[str, Any]]:
    """A WHERE clause of fixed fragments and the parameters they bind."""
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if filters.q:
        clauses.append("(name LIKE :q ESCAPE '\\' OR description LIKE :q ESCAPE '\\' OR brand LIKE :q ESCAPE '\\')")
        params["q"] = _like_pattern(filters.q)
    if filters.category:
        clauses.append("category = :category COLLATE NOCASE")
        params["category"] = filters.category
    if filters.brand:
        clauses.append("brand = :brand COLLATE NOCASE")
        params["brand"] = filters.brand
    if filters.min_price is not None:
        clauses.append("price_cents >= :min_cents")
        params["min_cents"] = math.ceil(filters.min_price * 100)
    if filters.max_price is not None:
        clauses.append("price_cents <= :max_cents")
        params["max_cents"] = math.floor(filters.max_price * 100)
    if filters.in_stock is not None:
        clauses.append("stock_quantity > 0" if filters.in_stock else "stock_quantity = 0")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _sum_lines(lines: Sequence[StockLine]) -> dict[int, int]:
    """Quantities per product, in the order products first appear; invalid lines are a 422."""
    if not lines:
        raise ValidationFailed("A reservation needs at least one line.", [FieldError(("lines",), "must not be empty")])
    if len(lines) > MAX_LINES:
        raise ValidationFailed(
            f"A reservation has at most {MAX_LINES} lines.", [FieldError(("lines",), "too many lines")]
        )
    wanted: dict[int, int] = {}
    for index, line in enumerate(lines):
        if isinstance(line.quantity, bool) or not isinstance(line.quantity, int) or line.quantity < 1:
            raise ValidationFailed(
                "Every quantity must be a whole number of at least 1.",
                [FieldError(("lines", index, "quantity"), "must be >= 1")],
            )
        wanted[line.product_id] = wanted.get(line.product_id, 0) + line.quantity
    for product_id, quantity in wanted.items():
        if quantity > MAX_LINE_QUANTITY:
            raise ValidationFailed(
                f"At most {MAX_LINE_QUANTITY} of one product can be reserved at once.",
                [FieldError(("lines",), f"product {product_id}: quantity too large")],
            )
    return wanted


def _valid_id(product_id: int) -> bool:
    return 1 <= product_id <= MAX_ID


class ProductStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        # Counts finished writes; the read cache drops its answers whenever it moves on.
        self.generation = 0
        self.reads = ReadCache(lambda: self.generation)
        # Names and images change only with the catalogue, not with stock: orders move the
        # generation on all the time, this one only moves with a product's create, update
        # or delete.
        self.catalogue_generation = 0
        self._labels: dict[int, Label] = {}
        self._labels_generation = -1

    async def _write(self, unit: Callable[[sqlite3.Connection], T], *, stock_only: bool = False) -> T:
        """Every write to the catalogue: one unit of work, then the generation moves on (also
        after a rollback: cheaper to reload than to prove nothing changed)."""
        try:
            return await self.db.write(unit)
        finally:
            self.generation += 1
            if not stock_only:
                self.catalogue_generation += 1

    # -- catalogue ---------------------------------------------------------------------------

    async def seed_once(self, catalogue: Sequence[ProductCreate]) -> bool:
        """Load the starting catalogue if this database never had it; True if it did now."""
        now = utc_now()
        seeded = [{**_column_values(item.model_dump()), "now": now} for item in catalogue]

        def unit(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute("INSERT OR IGNORE INTO seeds (name, applied_at) VALUES (?, ?)", (CATALOGUE_SEED, now))
            if cursor.rowcount != 1:
                return False
            conn.executemany(_INSERT, seeded)
            return True

        return await self._write(unit)

    async def get(self, product_id: int) -> Product:
        row = None
        if _valid_id(product_id):
            row = await self.db.fetch_one(f"SELECT {_COLUMNS} FROM products WHERE id = ?", (product_id,))
        if row is None:
            raise NotFound("Product not found.")
        return _product(row)

    async def get_many(self, ids: Collection[int]) -> dict[int, Product]:
        wanted = sorted({i for i in ids if _valid_id(i)})
        found: dict[int, Product] = {}
        for start in range(0, len(wanted), _IDS_PER_STATEMENT):
            chunk = wanted[start : start + _IDS_PER_STATEMENT]
            chunk_rows = await self.db.fetch_all(
                f"SELECT {_COLUMNS} FROM products WHERE id {IN_LIST}", (json_list(chunk),)
            )
            found.update((row["id"], _product(row)) for row in chunk_rows)
        return found

    async def labels(self, ids: Collection[int]) -> dict[int, Label]:
        """Names and first images, from memory until a product is created, updated or
        deleted: every order list shows them, and stock changes leave them as they are."""
        generation = self.catalogue_generation
        if self._labels_generation != generation:
            self._labels, self._labels_generation = {}, generation
        known = self._labels
        missing = sorted({i for i in ids if i not in known and _valid_id(i)})
        fresh: dict[int, Label] = {}
        for start in range(0, len(missing), _IDS_PER_STATEMENT):
            chunk = missing[start : start + _IDS_PER_STATEMENT]
            found = await self.db.fetch_all(
                f"SELECT id, name, json_extract(images, '$[0]') AS image FROM products WHERE id {IN_LIST}",
                (json_list(chunk),),
            )
            fresh.update((row["id"], Label(row["name"], row["image"])) for row in found)
        # Kept only if no write finished meanwhile (what was loaded may predate it).
        if known is self._labels and generation == self.catalogue_generation and len(known) < _MAX_LABELS:
            known.update(fresh)
        return {i: label for i in ids if (label := fresh.get(i) or known.get(i)) is not None}

    async def search(self, filters: ProductFilters, limit: int, offset: int) -> tuple[list[Product], int]:
        where, params = _where(filters)
        # The total rides along as a window column: one statement for a page with rows.
        rows = await self.db.fetch_all(
            f"SELECT {_COLUMNS}, COUNT(*) OVER () AS total FROM products{where}"
            f" ORDER BY {_ORDER_BY[filters.sort]} LIMIT :limit OFFSET :offset",
            {**params, "limit": limit, "offset": offset},
        )
        if rows:
            total = int(rows[0]["total"])
        elif offset == 0:
            total = 0
        else:  # past the end: the page is empty but the client still wants the total
            total = int(await self.db.fetch_value(f"SELECT COUNT(*) FROM products{where}", params))
        return [_product(row) for row in rows], total

    async def create(self, data: ProductCreate) -> Product:
        values = {**_column_values(data.model_dump()), "now": utc_now()}
        try:
            row = await self._write(lambda conn: conn.execute(f"{_INSERT} RETURNING {_COLUMNS}", values).fetchone())
        except sqlite3.IntegrityError as exc:
            if _is_unique_violation(exc):
                raise Conflict(f"A product with SKU {data.sku!r} already exists.") from None
            raise
        return _product(row)

    async def update(self, product_id: int, changes: ProductUpdate) -> Product:
        fields = _column_values(changes.model_dump(exclude_unset=True))
        if not fields:
            return await self.get(product_id)
        if not _valid_id(product_id):
            raise NotFound("Product not found.")
        assignments = ", ".join(f"{name} = :{name}" for name in _UPDATABLE if name in fields)
        sql = f"UPDATE products SET {assignments}, updated_at = :now WHERE id = :id RETURNING {_COLUMNS}"
        params = {**fields, "now": utc_now(), "id": product_id}
        try:
            row = await self._write(lambda conn: conn.execute(sql, params).fetchone())
        except sqlite3.IntegrityError as exc:
            if _is_unique_violation(exc):
                raise Conflict(f"A product with SKU {changes.sku!r} already exists.") from None
            raise
        if row is None:
            raise NotFound("Product not found.")
        return _product(row)

    async def delete(self, product_id: int) -> None:
        if not _valid_id(product_id):
            raise NotFound("Product not found.")
        deleted = await self._write(
            lambda conn: conn.execute("DELETE FROM products WHERE id = ?", (product_id,)).rowcount
        )
        if deleted == 0:
            raise NotFound("Product not found.")

    # -- stock reservations --------------------------------------------------------------------

    async def reserve(self, reservation_id: str, lines: Sequence[StockLine]) -> list[ReservedProduct]:
        """Take stock for every line or for none (one transaction); see client.ProductsClient."""
        check_reservation_id(reservation_id)
        wanted = _sum_lines(lines)
        return await self._write(lambda conn: _reserve(conn, reservation_id, wanted, utc_now()), stock_only=True)

    async def prune_released_reservations(self, before: str, limit: int) -> int:
        """Retention: released and settled reservations are kept only so that a late retry of
        the same id reserves nothing again; after a while no retry can come. Stock does not
        change, so the products cache stays."""

        def unit(conn: sqlite3.Connection) -> int:
            # Two statements, each on its partial index: an OR of the two would scan.
            deleted = 0
            for column in ("released_at", "settled_at"):
                deleted += conn.execute(
                    f"DELETE FROM reservations WHERE rowid IN (SELECT rowid FROM reservations"
                    f" WHERE {column} IS NOT NULL AND {column} < ? LIMIT ?)",
                    (before, limit - deleted),
                ).rowcount
            return deleted

        return await self.db.write(unit)

    async def settle(self, reservation_ids: Sequence[str]) -> None:
        """These reservations' orders were dispatched: their stock is gone for good, so the
        rows need not be kept beyond the retention age. A released or unknown id changes
        nothing; a settled one is never released."""
        for reservation_id in reservation_ids:
            check_reservation_id(reservation_id)
        if not reservation_ids:
            return
        await self.db.execute(
            "UPDATE reservations SET settled_at = ?"
            f" WHERE reservation_id {IN_LIST} AND released_at IS NULL AND settled_at IS NULL",
            (utc_now(), json_list(reservation_ids)),
        )

    async def release(self, reservation_id: str) -> None:
        """Give back what the reservation took, once; unknown or released ids change nothing."""
        check_reservation_id(reservation_id)
        await self._write(lambda conn: _release(conn, reservation_id, utc_now()), stock_only=True)


# -- units of work: each runs whole on the writer's thread --------------------------------------


def _reserve(conn: sqlite3.Connection, reservation_id: str, wanted: dict[int, int], now: str) -> list[ReservedProduct]:
    earlier = rows(
        conn,
        "SELECT product_id, quantity, product FROM reservations WHERE reservation_id = ? ORDER BY line_no",
        (reservation_id,),
    )
    if earlier:
        if {row["product_id"]: row["quantity"] for row in earlier} != wanted:
            raise Conflict(f"Reservation {reservation_id!r} already exists with other lines.")
        return [ReservedProduct.model_validate_json(row["product"]) for row in earlier]

    for product_id, quantity in wanted.items():
        if not _valid_id(product_id):
            raise ProductMissing(product_id)
        # The condition is the guard: the row changes only while enough is left, so
        # concurrent reservations can never take stock below zero.
        cursor = conn.execute(
            "UPDATE products SET stock_quantity = stock_quantity - ?, updated_at = ?"
            " WHERE id = ? AND stock_quantity >= ?",
            (quantity, now, product_id, quantity),
        )
        if cursor.rowcount == 0:
            left = rows(conn, "SELECT stock_quantity FROM products WHERE id = ?", (product_id,))
            if not left:
                raise ProductMissing(product_id)
            raise NotEnoughStock(product_id, int(left[0]["stock_quantity"]), quantity)

    ids = list(wanted)
    found = rows(conn, f"SELECT id, {_RESERVED_JSON} AS product FROM products WHERE id {IN_LIST}", (json_list(ids),))
    documents = {row["id"]: row["product"] for row in found}
    conn.executemany(
        "INSERT INTO reservations (reservation_id, line_no, product_id, quantity, product, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            (reservation_id, line_no, product_id, wanted[product_id], documents[product_id], now)
            for line_no, product_id in enumerate(ids)
        ],
    )
    return [ReservedProduct.model_validate_json(documents[product_id]) for product_id in ids]


def _release(conn: sqlite3.Connection, reservation_id: str, now: str) -> None:
    params = {"rid": reservation_id, "now": now}
    conn.execute(
        "UPDATE products SET updated_at = :now, stock_quantity = stock_quantity + ("
        "  SELECT r.quantity FROM reservations r"
        "  WHERE r.reservation_id = :rid AND r.product_id = products.id"
        "  AND r.released_at IS NULL AND r.settled_at IS NULL)"
        " WHERE id IN (SELECT product_id FROM reservations"
        "  WHERE reservation_id = :rid AND released_at IS NULL AND settled_at IS NULL)",
        params,
    )
    conn.execute(
        "UPDATE reservations SET released_at = :now"
        " WHERE reservation_id = :rid AND released_at IS NULL AND settled_at IS NULL",
        params,
    )
