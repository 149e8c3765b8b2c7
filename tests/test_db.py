"""The storage layer: units of work, group commit, durability settings, reads beside writes."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from shop.db import Database
from shop.errors import ServiceUnavailable

MIGRATIONS = [
    """
    CREATE TABLE parents (id INTEGER PRIMARY KEY);
    CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, parent INTEGER REFERENCES parents (id));
    """
]


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "test.db", MIGRATIONS)
    yield database
    await database.close()


class WriterGate:
    """Holds the writer thread inside a unit until released, so that the units submitted
    meanwhile queue up and are taken together."""

    def __init__(self, db: Database) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.task = asyncio.create_task(db.write(self._hold))

    def _hold(self, conn: sqlite3.Connection) -> None:
        self.entered.set()
        assert self.release.wait(10), "the test never released the writer"

    async def wait_entered(self) -> None:
        assert await asyncio.to_thread(self.entered.wait, 10)

    async def open(self) -> None:
        self.release.set()
        await self.task


def insert(name: str) -> Callable[[sqlite3.Connection], int]:
    def unit(conn: sqlite3.Connection) -> int:
        return int(conn.execute("INSERT INTO items (name) VALUES (?) RETURNING id", (name,)).fetchone()[0])

    return unit


def insert_then_fail(name: str) -> Callable[[sqlite3.Connection], int]:
    def unit(conn: sqlite3.Connection) -> int:
        conn.execute("INSERT INTO items (name) VALUES (?)", (name,))
        raise ValueError("this unit fails after writing")

    return unit


async def names(db: Database) -> set[str]:
    return {row["name"] for row in await db.fetch_all("SELECT name FROM items")}


async def trace_statements(db: Database, on_statement: Callable[[str], None]) -> None:
    await db.write(lambda conn: conn.set_trace_callback(on_statement))


async def test_commits_are_synced_to_disk_by_default(db: Database) -> None:
    # synchronous=FULL (2) in WAL mode: COMMIT returns after the log is fsynced.
    assert await db.write(lambda conn: conn.execute("PRAGMA synchronous").fetchone()[0]) == 2
    assert await db.write(lambda conn: conn.execute("PRAGMA journal_mode").fetchone()[0]) == "wal"


async def test_normal_synchronous_is_a_setting(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "fast.db", MIGRATIONS, "normal")
    try:
        assert await database.write(lambda conn: conn.execute("PRAGMA synchronous").fetchone()[0]) == 1
    finally:
        await database.close()


async def test_concurrent_units_share_one_commit_and_fail_alone(db: Database) -> None:
    transactions: list[str] = []
    await trace_statements(db, lambda sql: transactions.append(sql) if sql in ("BEGIN IMMEDIATE", "COMMIT") else None)
    gate = WriterGate(db)
    await gate.wait_entered()
    transactions.clear()

    writes = [
        asyncio.create_task(db.write(insert("a"))),
        asyncio.create_task(db.write(insert_then_fail("b"))),
        asyncio.create_task(db.write(insert("c"))),
        asyncio.create_task(db.write(insert("a"))),  # a UNIQUE violation: fails alone too
    ]
    await asyncio.sleep(0)  # every write is queued behind the gate
    await gate.open()
    results = await asyncio.gather(*writes, return_exceptions=True)

    assert isinstance(results[0], int) and isinstance(results[2], int)
    assert isinstance(results[1], ValueError)
    assert isinstance(results[3], sqlite3.IntegrityError)
    assert await names(db) == {"a", "c"}
    # The gate's own commit, then one transaction and one sync for all four writes.
    assert transactions == ["COMMIT", "BEGIN IMMEDIATE", "COMMIT"]


async def test_no_answer_before_the_commit_returns(db: Database) -> None:
    armed, in_commit, finish_commit = threading.Event(), threading.Event(), threading.Event()

    def hold_commit(sql: str) -> None:
        if sql == "COMMIT" and armed.is_set():
            in_commit.set()
            finish_commit.wait(10)

    await trace_statements(db, hold_commit)
    armed.set()
    write = asyncio.create_task(db.write(insert("durable")))
    assert await asyncio.to_thread(in_commit.wait, 10)
    await asyncio.sleep(0.05)
    assert not write.done()  # the unit ran, but its COMMIT has not returned: no answer yet
    finish_commit.set()
    assert isinstance(await write, int)
    assert await names(db) == {"durable"}


async def test_a_failed_commit_fails_every_unit_of_the_batch(db: Database) -> None:
    def orphan(conn: sqlite3.Connection) -> None:
        # A deferred foreign key is checked at COMMIT: the commit itself fails.
        conn.execute("PRAGMA defer_foreign_keys = ON")
        conn.execute("INSERT INTO items (name, parent) VALUES ('orphan', 42)")

    gate = WriterGate(db)
    await gate.wait_entered()
    writes = [asyncio.create_task(db.write(unit)) for unit in (insert("x"), orphan, insert("y"))]
    await asyncio.sleep(0)
    await gate.open()
    results = await asyncio.gather(*writes, return_exceptions=True)

    assert all(isinstance(result, ServiceUnavailable) for result in results)
    assert await names(db) == set()
    assert isinstance(await db.write(insert("z")), int)  # the writer lives on


async def test_reads_do_not_wait_for_a_write(db: Database) -> None:
    await db.write(insert("before"))
    gate = WriterGate(db)
    await gate.wait_entered()
    try:
        assert await asyncio.wait_for(names(db), 5) == {"before"}
    finally:
        await gate.open()


async def test_a_caller_cancelled_before_its_unit_started_writes_nothing(db: Database) -> None:
    gate = WriterGate(db)
    await gate.wait_entered()
    write = asyncio.create_task(db.write(insert("withdrawn")))
    await asyncio.sleep(0)
    write.cancel()
    with pytest.raises(asyncio.CancelledError):
        await write
    await gate.open()
    await db.write(insert("after"))
    assert await names(db) == {"after"}


async def test_close_waits_for_submitted_units(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "closing.db", MIGRATIONS)
    gate = WriterGate(database)
    await gate.wait_entered()
    queued = asyncio.create_task(database.write(insert("queued")))
    await asyncio.sleep(0)
    closing = asyncio.create_task(database.close())
    await asyncio.sleep(0.01)
    with pytest.raises(ServiceUnavailable):
        await database.write(insert("too late"))
    gate.release.set()
    await closing
    await gate.task
    assert isinstance(await queued, int)
    reopened = await Database.open(tmp_path / "closing.db", MIGRATIONS)
    try:
        assert await names(reopened) == {"queued"}
    finally:
        await reopened.close()
