"""CORS with aiohttp-cors. It works per application: every app (the root and each mounted
service) calls `enable_cors` on its own routes before it is frozen, or a preflight to a
sub-app's route would get 405."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

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

_ResponseHook = Callable[[web.Request, web.StreamResponse], Awaitable[None]]


def enable_cors(app: web.Application, origins: Sequence[str]) -> None:
    options = aiohttp_cors.ResourceOptions(
        allow_credentials=True,
        allow_headers=ALLOW_HEADERS,
        expose_headers=EXPOSE_HEADERS,
        allow_methods=("GET", "POST", "PUT", "PATCH", "DELETE"),
        max_age=600,
    )
    hooks_before = len(app.on_response_prepare)
    cors = aiohttp_cors.setup(app, defaults={origin: options for origin in origins})
    # aiohttp-cors' response hook looks up the route's CORS configuration before it looks
    # for an Origin header, and without one it does nothing (CORS 6.1.1). Most requests have
    # none (not from a browser, or a same-origin GET): they skip the lookup, the costliest
    # part of a hook that runs for every response of every app it is set up on.
    added = app.on_response_prepare[hooks_before:]
    del app.on_response_prepare[hooks_before:]
    app.on_response_prepare.extend(_only_with_origin(hook) for hook in added)
    for route in list(app.router.routes()):
        if route.method != "OPTIONS":
            cors.add(route)


def _only_with_origin(hook: _ResponseHook) -> _ResponseHook:
    async def cors_headers(request: web.Request, response: web.StreamResponse) -> None:
        if hdrs.ORIGIN in request.headers:
            await hook(request, response)

    return cors_headers
