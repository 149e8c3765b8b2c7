"""Service-to-service routes live under /internal/<service>/ and demand the service
credential; the public gateway never forwards there."""

from __future__ import annotations

import hmac
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from shop.errors import Unauthorized
from shop.registry import SERVICE_TOKEN_HEADER


def service_token_middleware(token: str) -> Any:
    expected = token.encode()

    @web.middleware
    async def require_service_token(request: web.Request, handler: Handler) -> web.StreamResponse:
        sent = request.headers.get(SERVICE_TOKEN_HEADER, "").encode()
        if not sent or not hmac.compare_digest(sent, expected):
            raise Unauthorized("Internal routes need the service credential.")
        return await handler(request)

    return require_service_token


def internal_app(token: str, routes: web.RouteTableDef) -> web.Application:
    app = web.Application(middlewares=[service_token_middleware(token)])
    app.add_routes(routes)
    return app
