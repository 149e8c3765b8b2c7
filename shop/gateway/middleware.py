"""The gateway's one middleware: every request's per-request work in a single pass.

In order: request id; header values that are not UTF-8 (400); the service credential and
the client address it vouches for (401 for a wrong one); body limits by the headers (413,
415); the token, only when one was sent to a route that reads it (401); the rate limit
(429), which also counts what was refused before it; the handler; any error as a problem
document; then metrics and the access line. A request without a token, the common case for
the catalogue, does no JWT work at all. The response's own headers (request id, security,
rate limit) are set by the one on_response_prepare hook, `shop.gateway.responses`.

One middleware rather than a chain of seven: each layer of aiohttp's chain is a call and a
coroutine per request, and each looked the same things up again (the client address, the
caller); at tens of microseconds per request in all, they cost as much as aiohttp itself.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from shop.config import ShopConfig
from shop.errors import TooManyRequests
from shop.gateway.access import AccessLog, incoming_or_new_request_id
from shop.gateway.auth import PROBE_PATHS, TokenCheck, anyone_may_call, reads_token
from shop.gateway.bodies import check_body
from shop.gateway.context import CALLER, REQUEST_ID
from shop.gateway.cors import off_route_preflight
from shop.gateway.errors import error_response
from shop.gateway.forwarded import vouched_client
from shop.gateway.headers import check_header_encoding
from shop.gateway.ratelimit import RateLimiter
from shop.gateway.revocation import TokenRevocations
from shop.metrics import Metrics


def gateway_middleware(
    cfg: ShopConfig,
    metrics: Metrics,
    revocations: TokenRevocations,
    public_paths: frozenset[str],
    login_paths: frozenset[str],
) -> Any:
    """`public_paths` and `login_paths`: what the services declare (shop.services.Service)."""
    service_token = cfg.internal.service_token.encode()
    max_body_bytes = cfg.gateway.max_body_bytes
    limiter = RateLimiter(cfg.gateway, login_paths)
    token_free_paths = PROBE_PATHS | public_paths
    tokens = TokenCheck(cfg.auth.jwt_secret, cfg.auth.issuer, revocations)
    access = AccessLog()
    cors_origins = frozenset(cfg.gateway.cors_origins)

    @web.middleware
    async def gateway(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        request[REQUEST_ID] = request_id = incoming_or_new_request_id(request)
        remote = request.remote
        status = 500  # what the log says if the handler is cancelled or the client goes away
        forwarded_for = None
        response: web.StreamResponse
        try:
            try:
                check_header_encoding(request)  # 400 before anything reads a header
                forwarded_for = vouched_client(request, service_token)
                remote = forwarded_for or remote
                check_body(request, max_body_bytes)
                if request.method == "OPTIONS" and (preflight := off_route_preflight(request, cors_origins)):
                    response = preflight
                elif "Authorization" in request.headers and reads_token(request, token_free_paths):

                    async def limited(request: web.Request) -> web.StreamResponse:
                        if forwarded_for is None:
                            limiter.check(request, request.get(CALLER), remote)
                        return await handler(request)

                    response = await tokens.around(request, limited, anyone_may_call(request))
                else:  # the fast path: no token to verify
                    if forwarded_for is None:
                        limiter.check(request, None, remote)
                    response = await handler(request)
            except web.HTTPException as exc:
                if exc.status < 400:  # a redirect is an answer, not an error
                    status = exc.status
                    raise
                response = error_response(request, counted_refusal(request, forwarded_for, remote) or exc)
            except ConnectionResetError:
                raise  # the client went away: nobody to answer
            except Exception as exc:
                response = error_response(request, counted_refusal(request, forwarded_for, remote) or exc)
            status = response.status
            return response
        finally:
            elapsed = time.perf_counter() - started
            metrics.observe(request, status, elapsed)
            if access.enabled():  # at WARNING, not even the fields are gathered
                access.write(request, request_id, status, elapsed, remote)

    def counted_refusal(request: web.Request, forwarded_for: str | None, remote: str | None) -> Exception | None:
        """A request refused before the rate limit counted it (a bad token, a body too large
        or not JSON) is counted all the same, or such requests would be free to repeat; the
        429 if that spends the budget."""
        if forwarded_for is not None or limiter.counted(request):
            return None
        try:
            limiter.check(request, None, remote)
        except TooManyRequests as exc:
            return exc
        return None

    return gateway
