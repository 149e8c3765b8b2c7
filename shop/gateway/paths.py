"""The path routing sees, and what became of the original system's paths.

Repeated slashes are merged before routing: the original UI joined its base URL and paths
into `/api//customers/1`. A redirect would not do: a browser's preflight cannot follow one,
and the original UI would not resend its PUT body. The original's `/api/forgot-password` is
routed as `/api/auth/forgot-password`, and its `/api/token` (a token for anyone, without
credentials) is deliberately not re-created: it answers a 404 that names the login.

The router resolves the canonical path; the gateway's own decisions by path (the stricter
rate limit of the auth routes, the routes that ignore a token) use `routed_path`, so
`/api//auth/login` is limited as `/api/auth/login` is. The request itself keeps the path the
client sent: a copy with another path would also copy the request's per-request values, which
the response hooks read from the original.
"""

from __future__ import annotations

import re

from aiohttp import web
from aiohttp.web_urldispatcher import UrlMappingMatchInfo
from yarl import URL

from shop.errors import NotFound
from shop.openapi import operation

_REPEATED = re.compile(r"/{2,}")
ALIASES = {"/api/forgot-password": "/api/auth/forgot-password"}
RETIRED_TOKEN_PATH = "/api/token"


def route_original_paths(app: web.Application) -> None:
    """On the root app: routing by the canonical path, and the retired `/api/token`."""
    resolve = app.router.resolve

    async def resolve_canonical(request: web.Request) -> UrlMappingMatchInfo:
        url = request.rel_url
        if "//" in url.raw_path or url.raw_path in ALIASES:
            path = _REPEATED.sub("/", url.raw_path)
            path = ALIASES.get(path, path)
            request = request.clone(rel_url=URL.build(path=path, query_string=url.raw_query_string, encoded=True))
        return await resolve(request)

    # The router has no hook for rewriting a path, and a router of our own class is a
    # deprecated Application argument; this instance's resolve is the one place routing asks.
    app.router.resolve = resolve_canonical  # type: ignore[method-assign]  # on purpose: see above
    for method in ("GET", "POST"):  # not "*": aiohttp-cors could not add its preflight
        app.router.add_route(method, RETIRED_TOKEN_PATH, _retired_token)


def routed_path(request: web.Request) -> str:
    """The path the request is routed by: repeated slashes merged, an original alias replaced."""
    path = request.path
    if "//" in path:
        path = _REPEATED.sub("/", path)
    return ALIASES.get(path, path)


@operation(
    "Not re-created: the original system's /api/token",
    description="It handed a token to anyone without credentials. Always 404; get a token with `POST /api/auth/login`.",
    deprecated=True,
    responses={},
    errors={404: "Always: use POST /api/auth/login."},
)
async def _retired_token(request: web.Request) -> web.Response:
    raise NotFound(
        "/api/token is not part of this shop: it handed a token to anyone. "
        "Get a token with POST /api/auth/login (or /api/auth/register)."
    )
