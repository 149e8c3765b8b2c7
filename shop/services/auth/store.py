"""The auth database: logins only. Profiles live in the customers service."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from shop.db import Database, Migration, utc_now
from shop.errors import Conflict
from shop.services.auth.models import Role, User

MIGRATIONS: list[Migration] = [
    """
    CREATE TABLE users (
        -- The id is the customer profile's id, allocated by the customers service.
        id            INTEGER PRIMARY KEY,
        name          TEXT NOT NULL,
        email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        role          TEXT NOT NULL CHECK (role IN ('customer', 'admin')),
        created_at    TEXT NOT NULL
    );
    """,
]


@dataclass(frozen=True, slots=True)
class Login:
    user: User
    password_hash: str


def _user(row: sqlite3.Row) -> User:
    return User(id=row["id"], name=row["name"], email=row["email"], role=row["role"])


class UserStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def email_taken(self, email: str) -> bool:
        return await self.db.fetch_one("SELECT 1 FROM users WHERE email = ?", (email,)) is not None

    async def create(self, user_id: int, name: str, email: str, password_hash: str, role: Role) -> User:
        try:
            await self.db.execute(
                "INSERT INTO users (id, name, email, password_hash, role, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (user_id, name, email, password_hash, role, utc_now()),
            )
        except sqlite3.IntegrityError:
            raise Conflict("An account with this email already exists.") from None
        return User(id=user_id, name=name, email=email, role=role)

    async def find_login(self, email: str) -> Login | None:
        row = await self.db.fetch_one(
            "SELECT id, name, email, role, password_hash FROM users WHERE email = ?", (email,)
        )
        return None if row is None else Login(_user(row), row["password_hash"])

    async def replace_password_hash(self, user_id: int, old_hash: str, new_hash: str) -> bool:
        """Store `new_hash` if the stored hash is still `old_hash`; False if it changed meanwhile
        (another login re-hashed it first), which leaves it as it is."""
        changed = await self.db.execute(
            "UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?", (new_hash, user_id, old_hash)
        )
        return changed == 1

    async def delete(self, user_id: int) -> None:
        """Delete a customer's login (idempotent). An administrator's is refused: deleting it
        would lock the shop out of its own administration (the configured admin is only
        re-created at the next start), and a profile must not vanish from under a login."""

        def unit(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT role FROM users WHERE id = ?", (user_id,)).fetchone()
            if row is not None and row["role"] == "admin":
                raise Conflict("This is an administrator's account; it cannot be deleted.")
            conn.execute("DELETE FROM users WHERE id = ?", (user_id,))

        await self.db.write(unit)

    async def rename(self, user_id: int, name: str) -> None:
        await self.db.execute("UPDATE users SET name = ? WHERE id = ?", (name, user_id))

    async def get(self, user_id: int) -> User | None:
        row = await self.db.fetch_one("SELECT id, name, email, role FROM users WHERE id = ?", (user_id,))
        return None if row is None else _user(row)
