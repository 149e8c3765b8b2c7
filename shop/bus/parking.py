"""Dead letters: where an event goes when a consumer gives up on it, and how an admin gets
it back out (replay) or throws it away (discard).

A subscription names its dead-letter store. A consumer with a database of its own keeps
them there (`StoredDeadLetters`: they survive a restart, and on Kafka the offset is
committed only once the event is stored); one without keeps them in memory. Both buses
park through `Parking`, so replay and discard behave the same on either.

An event's public id is "<store>.<number>" (for example "dispatcher.3"): stores number
their events independently, the name says whose number it is.
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from shop.bus import Handler, ParkedEvent
from shop.bus.delivery import describe
from shop.bus.envelope import Envelope
from shop.db import Database
from shop.errors import Conflict, NotFound
from shop.pathparams import parse_id

# Parked events kept in memory for a consumer without a database; beyond this the oldest
# are forgotten (they are in the error log) rather than growing without bound.
MAX_IN_MEMORY = 10_000


class DeadLetters(Protocol):
    name: str

    async def park(self, event: ParkedEvent) -> None:
        """Store it (again: the same event of the same group replaces its earlier entry)."""

    async def list(self) -> list[ParkedEvent]:
        """Oldest first, each with its `id`."""

    async def get(self, number: int) -> ParkedEvent:
        """NotFound if there is no such entry."""

    async def failed_again(self, number: int, error: str) -> None:
        """A replay failed: one more attempt, and its error."""

    async def discard(self, number: int) -> None:
        """NotFound if there is no such entry."""


class MemoryDeadLetters:
    def __init__(self, name: str = "memory") -> None:
        self.name = name
        self._events: OrderedDict[int, ParkedEvent] = OrderedDict()
        self._next = 1

    async def park(self, event: ParkedEvent) -> None:
        for number, known in list(self._events.items()):
            if (known.group, known.envelope.event_id) == (event.group, event.envelope.event_id):
                del self._events[number]
        self._events[self._next] = replace(event, id=f"{self.name}.{self._next}")
        self._next += 1
        while len(self._events) > MAX_IN_MEMORY:
            self._events.popitem(last=False)

    async def list(self) -> list[ParkedEvent]:
        return list(self._events.values())

    async def get(self, number: int) -> ParkedEvent:
        try:
            return self._events[number]
        except KeyError:
            raise NotFound("No such parked event.") from None

    async def failed_again(self, number: int, error: str) -> None:
        event = await self.get(number)
        self._events[number] = replace(event, error=error, attempts=event.attempts + 1)

    async def discard(self, number: int) -> None:
        await self.get(number)
        del self._events[number]


# The table a consumer's database needs for StoredDeadLetters (add it as a migration of that
# database; this text is then part of its history and must never change).
PARKED_EVENTS_TABLE = """
    CREATE TABLE parked_events (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        topic          TEXT NOT NULL,
        consumer_group TEXT NOT NULL,
        event_id       TEXT NOT NULL,
        envelope       BLOB NOT NULL,
        error          TEXT NOT NULL,
        attempts       INTEGER NOT NULL,
        parked_at      TEXT NOT NULL,
        UNIQUE (consumer_group, event_id)
    );
"""

_COLUMNS = "id, topic, consumer_group, envelope, error, attempts, parked_at"


class StoredDeadLetters:
    """Dead letters in the consumer's own database. `database` is looked up at each call:
    the bus may park before the consumer's start-up finished, or after its shutdown began;
    ServiceUnavailable then, and the bus tries again."""

    def __init__(self, name: str, database: Callable[[], Database]) -> None:
        self.name = name
        self._database = database

    async def park(self, event: ParkedEvent) -> None:
        await self._database().execute(
            "INSERT INTO parked_events (topic, consumer_group, event_id, envelope, error, attempts, parked_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (consumer_group, event_id) DO UPDATE SET"
            " error = excluded.error, attempts = parked_events.attempts + excluded.attempts,"
            " parked_at = excluded.parked_at",
            (
                event.topic,
                event.group,
                event.envelope.event_id,
                event.envelope.to_json(),
                event.error,
                event.attempts,
                event.parked_at,
            ),
        )

    async def list(self) -> list[ParkedEvent]:
        found = await self._database().fetch_all(f"SELECT {_COLUMNS} FROM parked_events ORDER BY id")
        return [self._event(row) for row in found]

    async def get(self, number: int) -> ParkedEvent:
        row = await self._database().fetch_one(f"SELECT {_COLUMNS} FROM parked_events WHERE id = ?", (number,))
        if row is None:
            raise NotFound("No such parked event.")
        return self._event(row)

    async def failed_again(self, number: int, error: str) -> None:
        await self._database().execute(
            "UPDATE parked_events SET error = ?, attempts = attempts + 1 WHERE id = ?", (error, number)
        )

    async def discard(self, number: int) -> None:
        if await self._database().execute("DELETE FROM parked_events WHERE id = ?", (number,)) == 0:
            raise NotFound("No such parked event.")

    def _event(self, row: sqlite3.Row) -> ParkedEvent:
        return ParkedEvent(
            envelope=Envelope.from_json(row["envelope"]),
            group=row["consumer_group"],
            error=row["error"],
            attempts=row["attempts"],
            parked_at=row["parked_at"],
            topic=row["topic"],
            id=f"{self.name}.{row['id']}",
        )


class Parking:
    """Every dead-letter store of a bus's subscriptions, and what an admin does with them."""

    def __init__(self) -> None:
        self._stores: dict[str, DeadLetters] = {}
        self.in_memory = MemoryDeadLetters()

    def add(self, store: DeadLetters) -> None:
        known = self._stores.get(store.name)
        if known is not None and known is not store:
            raise ValueError(f"two dead-letter stores are named {store.name!r}")
        self._stores[store.name] = store

    async def parked(self) -> list[ParkedEvent]:
        found = [event for store in self._stores.values() for event in await store.list()]
        return sorted(found, key=lambda event: event.parked_at)

    def find(self, parked_id: str) -> tuple[DeadLetters, int]:
        name, _, raw_number = parked_id.rpartition(".")
        store = self._stores.get(name)
        number = parse_id(raw_number)
        if store is None or number is None:
            raise NotFound("No such parked event.")
        return store, number

    async def replay(
        self, parked_id: str, handler_of: Callable[[str, str], Handler | None], describe: Callable[[BaseException], str]
    ) -> ParkedEvent:
        """Hand the event to its consumer's handler once more; gone from the store if it
        succeeds, else Conflict with the new error (and one more attempt counted)."""
        store, number = self.find(parked_id)
        event = await store.get(number)
        handler = handler_of(event.topic, event.group)
        if handler is None:
            raise Conflict(f"No consumer of group {event.group!r} runs in this process.")
        try:
            await handler(event.envelope)
        except Exception as exc:  # the handler's failure is the answer, not a crash
            error = describe(exc)
            await store.failed_again(number, error)
            raise Conflict(f"The handler failed again: {error}") from None
        await store.discard(number)
        return event

    async def discard(self, parked_id: str) -> None:
        store, number = self.find(parked_id)
        await store.discard(number)


class BusParking:
    """What an admin does with a bus's parked events, the same on every bus: a bus keeps a
    `Parking` in `_parking` and says which handler consumes a topic for a group."""

    _parking: Parking

    def _handler_of(self, topic: str, group: str) -> Handler | None:
        raise NotImplementedError

    async def parked(self) -> list[ParkedEvent]:
        return await self._parking.parked()

    async def replay(self, parked_id: str) -> ParkedEvent:
        return await self._parking.replay(parked_id, self._handler_of, describe)

    async def discard(self, parked_id: str) -> None:
        await self._parking.discard(parked_id)
