"""Timestamps as the shop writes them: RFC 3339 in UTC ending in "Z", so that they sort
correctly as text (SQLite columns, events, reports)."""

from __future__ import annotations

import functools
import time
from datetime import UTC, datetime


def utc_now(seconds_ago: float = 0) -> str:
    """Now, or that long ago, to the millisecond (truncated, as isoformat does). Several
    stamps go into every order: the date and time of day are formatted once a second."""
    nanoseconds = time.time_ns() - round(seconds_ago * 1_000_000_000)
    seconds, rest = divmod(nanoseconds, 1_000_000_000)
    return f"{_second(seconds)}.{rest // 1_000_000:03d}Z"


@functools.lru_cache(maxsize=8)  # thread-safe; writer threads stamp too
def _second(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def rfc3339(moment: float, timespec: str = "milliseconds") -> str:
    """`moment` (seconds since the epoch) to `timespec` (as datetime.isoformat takes it)."""
    return _text(datetime.fromtimestamp(moment, UTC), timespec)


def _text(moment: datetime, timespec: str) -> str:
    return moment.isoformat(timespec=timespec).replace("+00:00", "Z")
