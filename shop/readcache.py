"""A read cache of encoded answers, dropped as soon as what they were read from changes:
the catalogue's answers (GET /api/products, GET /api/products/{id}) and order lists.

Such data is read far more often than it is written, and a read otherwise costs a database
round trip, parsing and a JSON encoding. Only one process writes a service's database (the
service owns it), and every write goes through its store, which counts its writes (its
`generation`) once each has committed or rolled back. Any write empties the cache, and an
answer is kept only if no write finished while it was being read, so a read that raced a
write never caches what the write replaced: once a write is acknowledged, no reader gets an
answer from before it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass, field

# Total size of the cached bodies. The 20-product list is ~17 KB and one product ~1 KB;
# searches with ever different filters must not grow the process without bound.
MAX_CACHED_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Answer:
    body: bytes  # the JSON response body
    headers: Mapping[str, str] = field(default_factory=dict)  # a list's X-Total-Count and Link


class ReadCache:
    def __init__(self, generation: Callable[[], Hashable], max_bytes: int = MAX_CACHED_BYTES) -> None:
        self._current_generation = generation  # the store's write count (or counts)
        self._max_bytes = max_bytes
        self._entries: dict[Hashable, Answer] = {}
        self._bytes = 0
        self._generation: Hashable = None

    async def get(self, key: Hashable, load: Callable[[], Awaitable[Answer]]) -> Answer:
        generation = self._current_generation()
        if generation != self._generation:
            self.clear()
            self._generation = generation
        cached = self._entries.get(key)
        if cached is not None:
            return cached
        answer = await load()
        # Kept only if no write finished meanwhile (the loaded answer may predate it).
        if self._current_generation() == generation == self._generation:
            self._put(key, answer)
        return answer

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0

    def _put(self, key: Hashable, answer: Answer) -> None:
        size = len(answer.body)
        if size > self._max_bytes:
            return
        previous = self._entries.pop(key, None)
        if previous is not None:  # two concurrent misses of one key
            self._bytes -= len(previous.body)
        while self._entries and self._bytes + size > self._max_bytes:
            oldest = next(iter(self._entries))  # dicts keep insertion order
            self._bytes -= len(self._entries.pop(oldest).body)
        self._entries[key] = answer
        self._bytes += size
