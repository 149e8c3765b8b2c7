"""CORS with aiohttp-cors. It works per application: every app (the root and each mounted
service) calls `enable_cors` on its own routes before it is frozen, or a preflight to a
sub-app's route would get 405."""

from __future__ import annotations

from collections.abc import Sequence

import aiohttp_cors
from aiohttp import web

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


def enable_cors(app: web.Application, origins: Sequence[str]) -> None:
    options = aiohttp_cors.ResourceOptions(
        allow_credentials=True,
        allow_headers=ALLOW_HEADERS,
        expose_headers=EXPOSE_HEADERS,
        allow_methods=("GET", "POST", "PUT", "PATCH", "DELETE"),
        max_age=600,
    )
    cors = aiohttp_cors.setup(app, defaults={origin: options for origin in origins})
    for route in list(app.router.routes()):
        if route.method != "OPTIONS":
            cors.add(route)
