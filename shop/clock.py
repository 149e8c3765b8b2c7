"""Timestamps as the shop writes them: RFC 3339 in UTC ending in "Z", so that they sort
correctly as text (SQLite columns, events, reports)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def utc_now(seconds_ago: float = 0) -> str:
    """Now, or that long ago, to the millisecond."""
    return _text(datetime.now(UTC) - timedelta(seconds=seconds_ago), "milliseconds")


def rfc3339(moment: float, timespec: str = "milliseconds") -> str:
    """`moment` (seconds since the epoch) to `timespec` (as datetime.isoformat takes it)."""
    return _text(datetime.fromtimestamp(moment, UTC), timespec)


def _text(moment: datetime, timespec: str) -> str:
    return moment.isoformat(timespec=timespec).replace("+00:00", "Z")
