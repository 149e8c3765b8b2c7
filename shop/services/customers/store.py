"""The customers database: parameterised SQL only; returns models, raises domain errors."""

from __future__ import annotations

import sqlite3

from shop.clock import utc_now
from shop.db import Database, Migration
from shop.errors import Conflict, NotFound
from shop.services.customers.models import Customer, CustomerCreate, CustomerUpdate

MIGRATIONS: list[Migration] = [
    """
    CREATE TABLE customers (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        name        TEXT NOT NULL,
        email       TEXT NOT NULL UNIQUE COLLATE NOCASE,
        address     TEXT NOT NULL DEFAULT '',
        city        TEXT NOT NULL DEFAULT '',
        mobile      TEXT NOT NULL DEFAULT '',
        preferences TEXT NOT NULL DEFAULT '',
        location    TEXT NOT NULL DEFAULT '',
        sex         TEXT NOT NULL DEFAULT '',
        interests   TEXT NOT NULL DEFAULT '',
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL
    );
    """,
    """
    -- The registration (in the auth service) that created a profile, so a registration
    -- that never heard back can remove exactly what it made, and a retry finds it.
    ALTER TABLE customers ADD COLUMN registration_id TEXT;
    CREATE UNIQUE INDEX customers_by_registration ON customers (registration_id)
        WHERE registration_id IS NOT NULL;
    """,
]

_COLUMNS = "id, name, email, address, city, mobile, preferences, location, sex, interests, created_at, updated_at"
_PROFILE_FIELDS = ("name", "address", "city", "mobile", "preferences", "location", "sex", "interests")


def _customer(row: sqlite3.Row) -> Customer:
    return Customer(**dict(row))


class CustomerStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, data: CustomerCreate, registration_id: str | None = None) -> Customer:
        """A new profile. With a registration id, a retry of the same registration returns
        the profile it made the first time instead of a conflict."""
        values = {**data.model_dump(), "registration_id": registration_id, "now": utc_now()}

        def unit(conn: sqlite3.Connection) -> sqlite3.Row:
            if registration_id is not None:
                made: sqlite3.Row | None = conn.execute(
                    f"SELECT {_COLUMNS} FROM customers WHERE registration_id = ?", (registration_id,)
                ).fetchone()
                if made is not None:
                    return made
            created: sqlite3.Row = conn.execute(
                "INSERT INTO customers (name, email, address, city, mobile, preferences, location,"
                " sex, interests, registration_id, created_at, updated_at)"
                " VALUES (:name, :email, :address, :city, :mobile, :preferences, :location,"
                f" :sex, :interests, :registration_id, :now, :now) RETURNING {_COLUMNS}",
                values,
            ).fetchone()
            return created

        try:
            return _customer(await self.db.write(unit))
        except sqlite3.IntegrityError:
            raise Conflict("A customer with this email already exists.") from None

    async def remove_registration(self, registration_id: str) -> None:
        """Delete the profile a registration made, if it made one (idempotent)."""
        await self.db.execute("DELETE FROM customers WHERE registration_id = ?", (registration_id,))

    async def get(self, customer_id: int) -> Customer:
        row = await self.db.fetch_one(f"SELECT {_COLUMNS} FROM customers WHERE id = ?", (customer_id,))
        if row is None:
            raise NotFound("Customer not found.")
        return _customer(row)

    async def list(self, limit: int, offset: int) -> tuple[list[Customer], int]:
        rows = await self.db.fetch_all(
            f"SELECT {_COLUMNS} FROM customers ORDER BY id LIMIT ? OFFSET ?", (limit, offset)
        )
        total = await self.db.fetch_value("SELECT COUNT(*) FROM customers")
        return [_customer(row) for row in rows], int(total)

    async def update(self, customer_id: int, changes: CustomerUpdate) -> Customer:
        fields = {k: v for k, v in changes.model_dump(exclude_unset=True).items() if v is not None}
        if not fields:
            return await self.get(customer_id)
        # Column names come from the fixed tuple above, never from the request.
        assignments = ", ".join(f"{name} = :{name}" for name in _PROFILE_FIELDS if name in fields)
        sql = f"UPDATE customers SET {assignments}, updated_at = :now WHERE id = :id RETURNING {_COLUMNS}"
        params = {**fields, "now": utc_now(), "id": customer_id}
        row = await self.db.write(lambda conn: conn.execute(sql, params).fetchone())
        if row is None:
            raise NotFound("Customer not found.")
        return _customer(row)

    async def delete(self, customer_id: int) -> None:
        if await self.db.execute("DELETE FROM customers WHERE id = ?", (customer_id,)) == 0:
            raise NotFound("Customer not found.")
