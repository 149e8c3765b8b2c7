"""Request id, the access log line and the headers every response carries."""

from __future__ import annotations

import logging
import os
import re

from aiohttp import web

from shop.gateway.context import CALLER, REQUEST_ID
from shop.gateway.ratelimit import set_rate_limit_headers
from shop.logs import JsonLines

log = logging.getLogger("shop.access")

_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def incoming_or_new_request_id(request: web.Request) -> str:
    sent = request.headers.get("X-Request-ID", "")
    # 32 random hex digits, as uuid4().hex but without building a UUID on every request.
    return sent if _SANE_REQUEST_ID.match(sent) else os.urandom(16).hex()


class AccessLog:
    """One JSON line per request, at INFO on `shop.access`: the fields the contract names,
    never a query string, a body or a header."""

    def __init__(self) -> None:
        self._lines = JsonLines(log, "request")

    def enabled(self) -> bool:
        return self._lines.enabled()

    def write(self, request: web.Request, request_id: str, status: int, seconds: float, remote: str | None) -> None:
        caller = request.get(CALLER)
        self._lines.info(
            {
                "request_id": request_id,
                "method": request.method,
                "path": request.path,  # never the query string: it may hold search terms
                "status": status,
                "duration_ms": round(seconds * 100_000) / 100,  # round(x, 2) costs a decimal conversion
                "caller_id": caller.user_id if caller else None,
                "remote": remote,
            }
        )


def set_gateway_headers(request: web.Request, response: web.StreamResponse) -> None:
    """What every response carries: its request id, the security headers, no caching of the
    API, the rate limit. Set as the response's headers are sent (shop.gateway.responses), so
    streamed responses (SSE) have them too, which the middleware only sees once they are over."""
    headers = response.headers
    headers["X-Request-ID"] = request.get(REQUEST_ID) or incoming_or_new_request_id(request)
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)
    if request.path.startswith("/api/"):
        headers.setdefault("Cache-Control", "no-store")
    set_rate_limit_headers(request, headers)
