"""The auth database: logins only. Profiles live in the customers service."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime

from shop.clock import utc_now
from shop.db import Database, Migration
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
    """
    -- Tokens issued before this unix time are void (a password reset): loaded into the
    -- gateway's TokenRevocations at start-up.
    ALTER TABLE users ADD COLUMN tokens_valid_after REAL;

    -- Only a hash of each reset token is kept: a copy of this file resets no password.
    CREATE TABLE password_resets (
        token_hash TEXT PRIMARY KEY,
        user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        expires_at REAL NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX password_resets_by_user ON password_resets (user_id);
    """,
    """
    -- Every time an account's earlier tokens were voided (a password reset or change, a
    -- deleted account), in order: a process without the auth service polls it by seq to
    -- refuse those tokens too. It replaces users.tokens_valid_after, which a deleted account
    -- would take with it.
    CREATE TABLE token_revocations (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id     INTEGER NOT NULL,
        valid_after REAL NOT NULL
    );
    INSERT INTO token_revocations (user_id, valid_after)
        SELECT id, tokens_valid_after FROM users WHERE tokens_valid_after IS NOT NULL;
    """,
]


@dataclass(frozen=True, slots=True)
class Revocation:
    seq: int
    user_id: int
    valid_after: float  # unix time: the account's tokens issued before it are void


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

    async def login_of(self, user_id: int) -> Login | None:
        row = await self.db.fetch_one("SELECT id, name, email, role, password_hash FROM users WHERE id = ?", (user_id,))
        return None if row is None else Login(_user(row), row["password_hash"])

    async def delete(self, user_id: int, now: float) -> bool:
        """Delete a customer's login, and void every token issued to it; False if there was
        none. An administrator's is refused (Conflict)."""

        def unit(conn: sqlite3.Connection) -> bool:
            row = conn.execute("SELECT role FROM users WHERE id = ?", (user_id,)).fetchone()
            if row is None:
                return False
            if row["role"] == "admin":
                # Deleting it would lock the shop out of its own administration (the configured
                # admin is only re-created at the next start), and a profile must not vanish
                # from under a login.
                raise Conflict("This is an administrator's account; it cannot be deleted.")
            conn.execute("DELETE FROM users WHERE id = ?", (user_id,))
            _void_tokens(conn, user_id, now)
            return True

        return await self.db.write(unit)

    async def change_password(self, user_id: int, old_hash: str, new_hash: str, now: float) -> bool:
        """The new hash if the stored one is still `old_hash` (the one just verified), and
        every token issued before `now` void; False if the password changed meanwhile."""

        def unit(conn: sqlite3.Connection) -> bool:
            changed = conn.execute(
                "UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?", (new_hash, user_id, old_hash)
            ).rowcount
            if changed:
                _void_tokens(conn, user_id, now)
            return bool(changed)

        return await self.db.write(unit)

    async def prune_expired_resets(self, before: str, limit: int) -> int:
        """Retention: reset tokens past their expiry can reset nothing any more."""
        cutoff = datetime.fromisoformat(before).timestamp()
        return await self.db.execute(
            "DELETE FROM password_resets WHERE token_hash IN"
            " (SELECT token_hash FROM password_resets WHERE expires_at < ? LIMIT ?)",
            (cutoff, limit),
        )

    async def revocations_since(self, seq: int, limit: int = 1000) -> list[Revocation]:
        """Voided tokens recorded after `seq`, oldest first."""
        found = await self.db.fetch_all(
            "SELECT seq, user_id, valid_after FROM token_revocations WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
        )
        return [Revocation(int(row["seq"]), int(row["user_id"]), float(row["valid_after"])) for row in found]

    async def rename(self, user_id: int, name: str) -> None:
        await self.db.execute("UPDATE users SET name = ? WHERE id = ?", (name, user_id))

    async def add_reset_token(self, user_id: int, token_hash: str, expires_at: float) -> None:
        def unit(conn: sqlite3.Connection) -> None:
            # Expired tokens go as new ones come: the table holds only what could still work.
            conn.execute("DELETE FROM password_resets WHERE expires_at <= ?", (time.time(),))
            conn.execute(
                "INSERT INTO password_resets (token_hash, user_id, expires_at, created_at) VALUES (?, ?, ?, ?)",
                (token_hash, user_id, expires_at, utc_now()),
            )

        await self.db.write(unit)

    async def reset_password(self, token_hash: str, password_hash: str, now: float) -> int | None:
        """Use a reset token: the account's password becomes `password_hash`, every reset token
        of the account is spent and its tokens issued before `now` are void. The user id, or
        None for a token that is unknown, spent or expired (nothing changes then)."""

        def unit(conn: sqlite3.Connection) -> int | None:
            row = conn.execute(
                "DELETE FROM password_resets WHERE token_hash = ? RETURNING user_id, expires_at", (token_hash,)
            ).fetchone()
            if row is None or row["expires_at"] <= now:
                return None
            user_id = int(row["user_id"])
            conn.execute("DELETE FROM password_resets WHERE user_id = ?", (user_id,))
            changed = conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id)).rowcount
            if not changed:
                return None
            _void_tokens(conn, user_id, now)
            return user_id

        return await self.db.write(unit)

    async def get(self, user_id: int) -> User | None:
        row = await self.db.fetch_one("SELECT id, name, email, role FROM users WHERE id = ?", (user_id,))
        return None if row is None else _user(row)


def _void_tokens(conn: sqlite3.Connection, user_id: int, now: float) -> None:
    conn.execute("INSERT INTO token_revocations (user_id, valid_after) VALUES (?, ?)", (user_id, now))
