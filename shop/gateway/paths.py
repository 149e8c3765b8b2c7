"""The path routing sees, and what became of the original system's paths.

Repeated slashes are merged before routing: the original UI joined its base URL and paths
into `/api//customers/1`. A redirect would not do: a browser's preflight cannot follow one,
and the original UI would not resend its PUT body. The original's `/api/forgot-password` is
routed as `/api/auth/forgot-password`, and its `/api/token` (a token for anyone, without
credentials) is deliberately not re-created: it answers a 404 that names the login.

Two halves, both only for a path that needs it: the router resolves the canonical path, and
the gateway middleware hands the rest of the request (rate limit, handler, access log) a copy
whose path is the canonical one, so `/api//auth/login` is limited as `/api/auth/login` is.
"""

from __future__ import annotations

import re

from aiohttp import web
from yarl import URL

from shop.errors import NotFound
from shop.openapi import operation

_REPEATED = re.compile(r"/{2,}")
ALIASES = {"/api/forgot-password": "/api/auth/forgot-password"}
RETIRED_TOKEN_PATH = "/api/token"


def route_original_paths(app: web.Application) -> None:
    """On the root app: routing by the canonical path, and the retired `/api/token`."""
    resolve = app.router.resolve

    async def resolve_canonical(request: web.Request) -> web.AbstractMatchInfo:
        return await resolve(canonical_request(request))

    # The router has no hook for rewriting a path, and a router of our own class is a
    # deprecated Application argument; this instance's resolve is the one place routing asks.
    app.router.resolve = resolve_canonical  # type: ignore[method-assign]
    for method in ("GET", "POST"):  # not "*": aiohttp-cors could not add its preflight
        app.router.add_route(method, RETIRED_TOKEN_PATH, _retired_token)


def canonical_request(request: web.Request) -> web.Request:
    """`request` itself when its path is canonical; else a copy (same match info) that is."""
    raw_path = request.raw_path
    if "//" not in raw_path and request.path not in ALIASES:
        return request
    url = request.rel_url
    path = _REPEATED.sub("/", url.raw_path)
    path = ALIASES.get(path, path)
    return request.clone(rel_url=URL.build(path=path, query_string=url.raw_query_string, encoded=True))


@operation(
    "Not re-created: the original system's /api/token",
    description="It handed a token to anyone without credentials. Always 404; "
    "get a token with `POST /api/auth/login`.",
    deprecated=True,
    responses={},
    errors={404: "Always: use POST /api/auth/login."},
)
async def _retired_token(request: web.Request) -> web.Response:
    raise NotFound(
        "/api/token is not part of this shop: it handed a token to anyone. "
        "Get a token with POST /api/auth/login (or /api/auth/register)."
    )
