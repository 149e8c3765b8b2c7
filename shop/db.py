"""SQLite access shared by every service: one file per service, WAL, durable commits.

Writes are units of work: a synchronous function that receives the writer connection and
runs every statement of its transaction, reads included, in one trip to the writer's thread
(`Database.write`). Concurrent units share a transaction and one sync (group commit): the
thread takes every unit waiting at that moment, runs each inside a savepoint (so a unit
that raises rolls back only itself), commits once, and only then answers each caller. With
`synchronous=FULL` in WAL mode, COMMIT returns after the log is fsynced, so a write is
acknowledged only once it would survive a power cut.

Why not aiosqlite for the writer: its public API runs one statement (or one script) per
trip to its thread; a unit of work with reads and branches between its statements cannot
be handed over whole. One writer thread with a queue is the smallest sound alternative.
Reads stay on aiosqlite, on a connection of their own: every read is one statement, one
trip, and never waits for a write (WAL readers see the last commit).
"""

from __future__ import annotations

import asyncio
import json
import queue
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import aiosqlite
from aiohttp import web

from shop.errors import ServiceUnavailable

Migration = str  # one SQL script; its 1-based position in the list is its schema version
# FULL: a commit is fsynced before it returns (survives power loss). NORMAL: synced at
# checkpoints only; survives a crash of the process, not of the machine.
Synchronous = Literal["full", "normal"]
T = TypeVar("T")
Unit = Callable[[sqlite3.Connection], T]

# Units that share one transaction at most: bounds the time the first one waits for the
# last, and the work lost to a failing COMMIT.
MAX_UNITS_PER_COMMIT = 256


class Database:
    def __init__(self, path: Path, writer: _Writer, reader: aiosqlite.Connection) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self.closed = False

    @classmethod
    async def open(cls, path: Path, migrations: Sequence[Migration], synchronous: Synchronous = "full") -> Database:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = await asyncio.to_thread(_open_writer, path, migrations, synchronous)
        writer = _Writer(conn, asyncio.get_running_loop(), path.stem)
        try:
            reader = await aiosqlite.connect(path, isolation_level=None)
            reader.row_factory = sqlite3.Row
            await reader.execute("PRAGMA busy_timeout=5000")
        except BaseException:
            await writer.close()
            raise
        return cls(path, writer, reader)

    async def close(self) -> None:
        """Waits for every unit already submitted to commit, then closes both connections."""
        self.closed = True
        await self._writer.close()
        await self._reader.close()

    async def write(self, unit: Unit[T]) -> T:
        """Run `unit(conn)` in a transaction on the writer's thread; return its result once
        the commit that contains it has returned (and so, with synchronous=full, is on disk).
        If it raises, its changes are rolled back (and only its own) and the exception is
        raised here.

        A caller cancelled before its unit started withdraws it; once started, the unit
        commits with its batch and the cancelled caller is simply not told."""
        return await self._writer.submit(unit)

    async def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """A write of one statement, as a unit of work; returns how many rows it changed."""
        return await self.write(lambda conn: conn.execute(sql, params).rowcount)

    # Reads are one trip to the reader's thread (execute and fetch together).

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


class _Job(Generic[T]):
    __slots__ = ("error", "future", "result", "unit")

    def __init__(self, unit: Unit[T], future: asyncio.Future[T]) -> None:
        self.unit = unit
        self.future = future
        self.result: T | None = None
        self.error: BaseException | None = None


class _Writer:
    """The one connection that writes, on a thread of its own, fed by a queue of units."""

    def __init__(self, conn: sqlite3.Connection, loop: asyncio.AbstractEventLoop, name: str) -> None:
        self._conn = conn
        self._loop = loop
        # SimpleQueue: a put is one C call, with no lock or condition to hand over. None
        # (put by close) stops the thread after every unit queued before it.
        self._queue: queue.SimpleQueue[_Job[Any] | None] = queue.SimpleQueue()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name=f"sqlite-writer-{name}", daemon=True)
        self._thread.start()

    async def submit(self, unit: Unit[T]) -> T:
        if self._closing:
            raise ServiceUnavailable("The database is closed.")
        job: _Job[T] = _Job(unit, self._loop.create_future())
        self._queue.put(job)
        # A cancelled caller cancels the future; the thread skips a job whose future is
        # cancelled when it takes it (one it already took runs and commits with its batch).
        return await job.future

    async def close(self) -> None:
        self._closing = True
        self._queue.put(None)
        await asyncio.to_thread(self._thread.join)

    # -- the writer thread -------------------------------------------------------------------

    def _run(self) -> None:
        try:
            stop = False
            while not stop:
                batch, stop = self._next_batch()
                if not batch:
                    continue
                self._commit_batch(batch)
                try:
                    self._loop.call_soon_threadsafe(_settle, batch)
                except RuntimeError:  # the loop is closed: nobody is waiting any more
                    pass
        finally:
            self._conn.close()

    def _next_batch(self) -> tuple[list[_Job[Any]], bool]:
        """Every unit waiting now (up to the limit), without those withdrawn; and whether
        close() was called behind them."""
        taken = [self._queue.get()]
        while taken[-1] is not None and len(taken) < MAX_UNITS_PER_COMMIT:
            try:
                taken.append(self._queue.get_nowait())
            except queue.Empty:
                break
        stop = taken[-1] is None
        return [job for job in taken if job is not None and not job.future.cancelled()], stop

    def _commit_batch(self, batch: list[_Job[Any]]) -> None:
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            if len(batch) == 1:
                _run_unit(conn, batch[0])
                if batch[0].error is not None:
                    conn.execute("ROLLBACK")
                    return
            else:
                for job in batch:
                    _run_in_savepoint(conn, job)
            conn.execute("COMMIT")
        except Exception as exc:  # BEGIN, a savepoint or COMMIT failed: nothing of the batch stands
            _rollback_quietly(conn)
            for job in batch:
                if job.error is None:
                    # One exception per caller: each is raised in its own task.
                    job.error = ServiceUnavailable("The database could not store the change.")
                    job.error.__cause__ = exc


def _rollback_quietly(conn: sqlite3.Connection) -> None:
    # SQLite may have rolled back already (I/O error, disk full); the thread must live on.
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except sqlite3.Error:
        pass


def _run_unit(conn: sqlite3.Connection, job: _Job[Any]) -> None:
    try:
        job.result = job.unit(conn)
    except Exception as exc:
        job.error = exc


def _run_in_savepoint(conn: sqlite3.Connection, job: _Job[Any]) -> None:
    conn.execute("SAVEPOINT unit")
    _run_unit(conn, job)
    if job.error is not None:
        conn.execute("ROLLBACK TO unit")
    conn.execute("RELEASE unit")


def _settle(batch: list[_Job[Any]]) -> None:
    """On the event loop: answer every caller of a batch that has committed (or failed)."""
    for job in batch:
        if job.future.cancelled():
            continue
        if job.error is not None:
            job.future.set_exception(job.error)
        else:
            job.future.set_result(job.result)


def _open_writer(path: Path, migrations: Sequence[Migration], synchronous: Synchronous) -> sqlite3.Connection:
    # isolation_level=None: no implicit transactions; the writer issues BEGIN itself.
    # check_same_thread=False: opened here, used only by the writer thread from now on.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'full' else 'NORMAL'}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        _migrate(conn, migrations)
    except BaseException:
        conn.close()
        raise
    return conn


def _migrate(conn: sqlite3.Connection, migrations: Sequence[Migration]) -> None:
    current = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if current > len(migrations):
        raise RuntimeError(f"database schema version {current} is newer than this code knows ({len(migrations)})")
    for version, script in enumerate(migrations[current:], start=current + 1):
        # executescript commits first, so the script and the version bump run in one
        # explicit transaction of their own.
        conn.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version={version};\nCOMMIT;")


# `column IN_LIST` with `json_list(values)` as its one parameter: the same statement text
# whatever the number of values, so SQLite's statement cache (128 per connection) keeps one
# prepared statement per query. With a `?` per value, every batch size was a statement of its
# own, prepared, cached, evicted and freed again, batch after batch.
IN_LIST = "IN (SELECT value FROM json_each(?))"


def json_list(values: Iterable[Any]) -> str:
    """The values of an IN_LIST, as its one bound parameter."""
    return json.dumps(list(values))


def rows(conn: sqlite3.Connection, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
    """Every row of a query, inside a unit of work."""
    return conn.execute(sql, params).fetchall()


class Slot(Generic[T]):
    """Holds what a service works with (its store, say) once its database is open. Routes,
    internal routes and the local client all read the same slot, so none needs the app that
    opened it. Whoever fills it says how to tell that it still works (readiness pings it)."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._value: T | None = None
        self._ping: Callable[[], Awaitable[bool]] | None = None

    def get(self) -> T:
        if self._value is None:
            raise ServiceUnavailable(f"The {self.service} database is not open.")
        return self._value

    def set(self, value: T, ping: Callable[[], Awaitable[bool]]) -> None:
        self._value, self._ping = value, ping

    def clear(self) -> None:
        self._value, self._ping = None, None

    async def ping(self) -> bool:
        return self._ping is not None and await self._ping()


def database_context(
    path: Path,
    migrations: Sequence[Migration],
    slot: Slot[T],
    make_store: Callable[[Database], T],
    synchronous: Synchronous = "full",
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context that opens a service's database before start-up and closes it after."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        db = await Database.open(path, migrations, synchronous)
        slot.set(make_store(db), db.ping)
        try:
            yield
        finally:
            slot.clear()
            await db.close()

    return ctx
