"""Record ids as clients spell them: in URL paths, queries, headers and token subjects.

An id is a plain decimal number within SQLite's INTEGER range. Anything else cannot name a
record, so in a path it is a 404 like any missing record (not a 500 from int("²") or an
overflowing bind), answered with one message whatever the service."""

from __future__ import annotations

import re

from aiohttp import web

from shop.errors import NotFound

MAX_ID = 2**63 - 1  # SQLite's largest INTEGER
NO_SUCH_RECORD = "No such resource."  # the gateway's answer to a path that names nothing
_DIGITS = re.compile(r"[0-9]{1,19}")  # ASCII only: str.isdigit() also takes "²" and "１"


def parse_id(raw: str) -> int | None:
    """The id `raw` spells (0 included: some counters start there), or None if it spells none."""
    if not _DIGITS.fullmatch(raw) or int(raw) > MAX_ID:
        return None
    return int(raw)


def path_id(request: web.Request, name: str) -> int:
    """The id in the path's `name` part; NotFound if it spells none."""
    value = parse_id(request.match_info[name])
    if value is None:
        raise NotFound(NO_SUCH_RECORD)
    return value
