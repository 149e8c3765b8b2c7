"""Record ids in URL paths. Anything that is not a plain decimal id within SQLite's
INTEGER range cannot name a record, so it is a 404 like any missing record (not a 500 from
int("²") or an overflowing bind)."""

from __future__ import annotations

import re

from aiohttp import web

MAX_ID = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_id(raw: str) -> int | None:
    """The id `raw` spells, or None if it spells none."""
    if not _DIGITS.fullmatch(raw) or int(raw) > MAX_ID:
        return None
    return int(raw)


def path_id(request: web.Request, name: str) -> int:
    value = parse_id(request.match_info[name])
    if value is None:
        raise web.HTTPNotFound()
    return value
