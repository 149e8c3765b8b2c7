"""SQLite access shared by every service: one file per service, WAL, one writer connection.

Writes go through `transaction()`, which serialises writers on one connection with a lock
(SQLite allows one writer anyway, and interleaving two coroutines' statements inside one
transaction would be a silent bug). Reads use a second connection, so they never see a
half-done write and never wait for one.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import aiosqlite
from aiohttp import web

from shop.errors import ServiceUnavailable

Migration = str  # one SQL script; its 1-based position in the list is its schema version


class Database:
    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()
        self.closed = False

    @classmethod
    async def open(cls, path: Path, migrations: Sequence[Migration]) -> Database:
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = await _connect(path)
        try:
            await _migrate(writer, migrations)
            reader = await _connect(path)
        except BaseException:
            await writer.close()
            raise
        return cls(path, writer, reader)

    async def close(self) -> None:
        self.closed = True
        async with self._write_lock:
            await self._reader.close()
            await self._writer.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back if the block raises or is cancelled."""
        async with self._write_lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                await asyncio.shield(self._writer.rollback())
                raise
            else:
                await asyncio.shield(self._writer.commit())

    # Reads are one trip to the connection's thread (execute and fetch together), not three
    # (execute, fetch, close the cursor): each trip costs a thread hand-off and a loop wake-up.

    async def fetch_one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Row | None:
        """The first row, for queries by key (every row is fetched)."""
        rows = await self._reader.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def fetch_all(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        return list(await self._reader.execute_fetchall(sql, params))

    async def fetch_value(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    async def ping(self) -> bool:
        if self.closed:
            return False
        try:
            await self.fetch_value("SELECT 1")
        except (sqlite3.Error, ValueError):
            return False
        return True


async def _connect(path: Path) -> aiosqlite.Connection:
    # isolation_level=None: no implicit transactions; transaction() issues BEGIN itself.
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute("PRAGMA synchronous=NORMAL")
    await conn.execute("PRAGMA foreign_keys=ON")
    await conn.execute("PRAGMA busy_timeout=5000")
    return conn


async def _migrate(conn: aiosqlite.Connection, migrations: Sequence[Migration]) -> None:
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    current = int(row[0]) if row else 0
    if current > len(migrations):
        raise RuntimeError(
            f"database schema version {current} is newer than this code knows ({len(migrations)})"
        )
    for version, script in enumerate(migrations[current:], start=current + 1):
        # executescript commits first, so the script and the version bump run in one
        # explicit transaction of their own.
        await conn.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version={version};\nCOMMIT;")


def utc_now(seconds_ago: float = 0) -> str:
    """RFC 3339 UTC with milliseconds (now, or that long ago); sorts correctly as text."""
    moment = datetime.now(UTC) - timedelta(seconds=seconds_ago)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def placeholders(values: Iterable[Any]) -> str:
    """'?, ?, ?' for an IN (...) clause; the values themselves are always bound parameters."""
    return ", ".join("?" for _ in values)


class HasDatabase(Protocol):
    db: Database


S = TypeVar("S", bound=HasDatabase)


class Slot(Generic[S]):
    """Holds a service's store once its database is open. Routes, internal routes and the
    local client all read the same slot, so none needs the app that opened it."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._value: S | None = None

    def get(self) -> S:
        if self._value is None:
            raise ServiceUnavailable(f"The {self.service} database is not open.")
        return self._value

    def set(self, value: S | None) -> None:
        self._value = value

    async def ping(self) -> bool:
        return self._value is not None and await self._value.db.ping()


def database_context(
    path: Path, migrations: Sequence[Migration], slot: Slot[S], make_store: Callable[[Database], S]
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context that opens a service's database before start-up and closes it after."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        db = await Database.open(path, migrations)
        slot.set(make_store(db))
        try:
            yield
        finally:
            slot.set(None)
            await db.close()

    return ctx
