"""Request id, the access log line and the headers every response carries."""

from __future__ import annotations

import logging
import os
import re
import time
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from shop.gateway.context import CALLER, REQUEST_ID
from shop.gateway.forwarded import client_address
from shop.metrics import Metrics

log = logging.getLogger("shop.access")

_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def _incoming_or_new_request_id(request: web.Request) -> str:
    sent = request.headers.get("X-Request-ID", "")
    # 32 random hex digits, as uuid4().hex but without building a UUID on every request.
    return sent if _SANE_REQUEST_ID.match(sent) else os.urandom(16).hex()


def access_middleware(metrics: Metrics) -> Any:
    @web.middleware
    async def access(request: web.Request, handler: Handler) -> web.StreamResponse:
        request[REQUEST_ID] = _incoming_or_new_request_id(request)
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        finally:
            elapsed = time.perf_counter() - started
            metrics.observe(request, status, elapsed)
            if log.isEnabledFor(logging.INFO):  # at WARNING, not even the fields are gathered
                caller = request.get(CALLER)
                log.info(
                    "request",
                    extra={
                        "request_id": request[REQUEST_ID],
                        "method": request.method,
                        "path": request.path,  # never the query string: it may hold search terms
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                        "caller_id": caller.user_id if caller else None,
                        "remote": client_address(request),
                    },
                )

    return access


async def add_response_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: runs for streamed (SSE) responses too, unlike a middleware."""
    response.headers["X-Request-ID"] = request.get(REQUEST_ID) or _incoming_or_new_request_id(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
