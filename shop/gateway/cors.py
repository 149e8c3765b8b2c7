"""CORS with aiohttp-cors. It works per application: every app (the root and each mounted
service) calls `enable_cors` on its own routes before it is frozen, or a preflight to a
sub-app's route would get 405.

aiohttp-cors also adds a response hook to every app it is set up on, and aiohttp awaits every
app's hooks for every response. Most requests carry no Origin header (not from a browser, or
a same-origin GET), and then those hooks do nothing (CORS 6.1.1); so they are kept aside
(`CORS_HOOKS`) and `CorsHeaders`, called by the root's one response hook, runs the matched
apps' hooks only for a request with an Origin."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence

import aiohttp_cors
from aiohttp import hdrs, web

ALLOW_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID", "Last-Event-ID")
EXPOSE_HEADERS = (
    "X-Request-ID",
    "X-Total-Count",
    "Link",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
)

ALLOW_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
MAX_AGE_SECONDS = 600

# aiohttp types on_response_prepare hooks as returning Awaitable[object]
_ResponseHook = Callable[[web.Request, web.StreamResponse], Awaitable[object]]
# The response hooks aiohttp-cors made for an app, run by CorsHeaders instead of aiohttp.
CORS_HOOKS = web.AppKey("cors_hooks", list[_ResponseHook])


def enable_cors(app: web.Application, origins: Sequence[str]) -> None:
    # aiohttp-cors 0.8 ships py.typed but leaves ResourceOptions.__new__ unannotated.
    options = aiohttp_cors.ResourceOptions(  # type: ignore[no-untyped-call]  # see above
        allow_credentials=True,
        allow_headers=ALLOW_HEADERS,
        expose_headers=EXPOSE_HEADERS,
        allow_methods=ALLOW_METHODS,
        max_age=MAX_AGE_SECONDS,
    )
    hooks_before = len(app.on_response_prepare)
    cors = aiohttp_cors.setup(app, defaults={origin: options for origin in origins})
    app[CORS_HOOKS] = list(app.on_response_prepare[hooks_before:])
    del app.on_response_prepare[hooks_before:]
    for route in list(app.router.routes()):
        if route.method != "OPTIONS":
            cors.add(route)


class CorsHeaders:
    """The CORS headers of an answer to a request with an Origin: those of aiohttp-cors for
    the route that served it (each app's, root first, as aiohttp would run them), and ours
    for answers aiohttp-cors never sees: a path no route serves (404), a method a route does
    not take (405), and a preflight to either. Without those a browser reports a CORS
    failure instead of the real status; only the root answers requests no route matched."""

    def __init__(self, origins: Sequence[str]) -> None:
        self._allowed = frozenset(origins)

    async def add(self, request: web.Request, response: web.StreamResponse, origin: str) -> None:
        for app in request.match_info.apps:
            for hook in app.get(CORS_HOOKS, ()):
                await hook(request, response)
        if origin in self._allowed and request.match_info.http_exception is not None:
            response.headers[hdrs.ACCESS_CONTROL_ALLOW_ORIGIN] = origin
            response.headers[hdrs.ACCESS_CONTROL_ALLOW_CREDENTIALS] = "true"
            if not _is_preflight(request):
                response.headers[hdrs.ACCESS_CONTROL_EXPOSE_HEADERS] = ",".join(EXPOSE_HEADERS)
            response.headers.add(hdrs.VARY, "Origin")


def off_route_preflight(request: web.Request, origins: Collection[str]) -> web.Response | None:
    """The answer to a preflight for a path or method no route serves: allowed like any other,
    so the request itself goes ahead and gets its real 404 or 405 (with CORS headers)."""
    if not _is_preflight(request) or request.match_info.http_exception is None:
        return None
    if request.headers.get(hdrs.ORIGIN) not in origins:
        return None
    return web.Response(
        status=204,
        headers={
            hdrs.ACCESS_CONTROL_ALLOW_METHODS: ",".join(ALLOW_METHODS),
            hdrs.ACCESS_CONTROL_ALLOW_HEADERS: ",".join(ALLOW_HEADERS),
            hdrs.ACCESS_CONTROL_MAX_AGE: str(MAX_AGE_SECONDS),
        },
    )


def _is_preflight(request: web.Request) -> bool:
    return request.method == "OPTIONS" and hdrs.ACCESS_CONTROL_REQUEST_METHOD in request.headers
