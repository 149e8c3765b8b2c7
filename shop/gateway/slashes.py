"""Repeated slashes in a path are merged before routing: the original UI joined its base URL
and paths into `/api//customers/1`. A redirect would not do: a browser's preflight cannot
follow one, and the original UI would not resend its PUT body.

Two halves, both only for a path that has `//`: the router resolves the merged path, and the
gateway middleware hands the rest of the request (rate limit, handler, access log) a copy
whose path is the merged one, so `/api//auth/login` is limited as `/api/auth/login` is.
"""

from __future__ import annotations

import re

from aiohttp import web
from yarl import URL

_REPEATED = re.compile(r"/{2,}")


def merge_slashes_when_routing(app: web.Application) -> None:
    resolve = app.router.resolve

    async def resolve_merged(request: web.Request) -> web.AbstractMatchInfo:
        if "//" in request.raw_path:
            request = with_merged_slashes(request)
        return await resolve(request)

    # The router has no hook for rewriting a path, and a router of our own class is a
    # deprecated Application argument; this instance's resolve is the one place routing asks.
    app.router.resolve = resolve_merged  # type: ignore[method-assign]


def with_merged_slashes(request: web.Request) -> web.Request:
    """`request` itself when its path has no `//`; else a copy (same match info) without."""
    if "//" not in request.raw_path:
        return request
    url = request.rel_url
    merged = URL.build(path=_REPEATED.sub("/", url.raw_path), query_string=url.raw_query_string, encoded=True)
    return request.clone(rel_url=merged)
