"""Error mapping for the gateway's middleware: domain errors and aiohttp's own HTTP errors
become problem documents by one table; anything unexpected is logged once with its request
id and becomes a bare 500 that reveals nothing.

One 400 is not ours: a request line or header aiohttp's parser cannot read (a raw control
byte in the URL) is answered by aiohttp's protocol handler (`RequestHandler.handle_error`)
with a `text/plain` 400 before any application, middleware or response signal sees the
request. Making it a problem document would mean replacing aiohttp's protocol and server
classes (`web_protocol.RequestHandler`, `web_server.Server`, private API), so it stays
aiohttp's: a 400 that closes the connection and reveals nothing."""

from __future__ import annotations

import logging

from aiohttp import web

from shop import errors
from shop.gateway.context import TOKEN_SENT, request_id
from shop.problems import problem_response

log = logging.getLogger("shop.errors")

STATUS_BY_ERROR: dict[type[errors.ShopError], int] = {
    errors.BadRequest: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.PayloadTooLarge: 413,
    errors.UnsupportedMediaType: 415,
    errors.ValidationFailed: 422,
    errors.TooManyRequests: 429,
    errors.BadGateway: 502,
    errors.ServiceUnavailable: 503,
    errors.UpstreamTimeout: 504,
}

INVALID_TOKEN_CHALLENGE = 'Bearer error="invalid_token"'


def status_of(error: errors.ShopError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def shop_error_response(request: web.Request, error: errors.ShopError) -> web.Response:
    status = status_of(error)
    headers: dict[str, str] = {}
    problem_errors = None
    if isinstance(error, errors.ValidationFailed):
        problem_errors = [{"loc": list(e.loc), "msg": e.msg} for e in error.errors]
    elif isinstance(error, errors.Unauthorized):
        headers["WWW-Authenticate"] = (
            INVALID_TOKEN_CHALLENGE if error.token_sent or request.get(TOKEN_SENT) else "Bearer"
        )
    elif isinstance(error, errors.TooManyRequests):
        headers["Retry-After"] = str(error.retry_after)
    return problem_response(
        status, error.detail, request_id=request_id(request), errors=problem_errors, headers=headers
    )


def http_error_response(request: web.Request, exc: web.HTTPException) -> web.Response:
    status = exc.status
    headers: dict[str, str] = {}
    if status == 401:
        # Only aiohttp-jwt raises aiohttp's own 401 (our code raises domain errors): a token
        # was sent and it was bad. The contract wants a challenge naming that.
        return problem_response(
            401,
            "The token is missing, invalid or expired.",
            request_id=request_id(request),
            headers={"WWW-Authenticate": INVALID_TOKEN_CHALLENGE},
        )
    # aiohttp's own 403 comes from aiohttp-cors refusing a preflight, or from the static
    # file handler refusing to list a folder (aiohttp-jwt would only raise one for revoked
    # tokens, which we do not use): not an authentication error.
    if status == 405 and "Allow" in exc.headers:
        headers["Allow"] = exc.headers["Allow"]
    refused = (
        "This request is not allowed (a CORS preflight: its origin, method or headers)."
        if request.method == "OPTIONS"
        else "This resource cannot be accessed."
    )
    detail = {
        403: refused,
        404: "No such resource.",
        405: f"{request.method} is not allowed here.",
        413: "The request body is too large.",
    }.get(status, exc.reason)
    return problem_response(status, detail, request_id=request_id(request), headers=headers)


def error_response(request: web.Request, error: Exception) -> web.Response:
    """The answer to an exception a handler raised: a domain error or aiohttp's own HTTP
    error (4xx, 5xx) by the table; anything else logged here and a bare 500."""
    if isinstance(error, errors.ShopError):
        return shop_error_response(request, error)
    if isinstance(error, web.HTTPException):
        return http_error_response(request, error)
    log.error("unhandled error", exc_info=error, extra={"request_id": request_id(request)})
    return problem_response(500, "Something went wrong on our side.", request_id=request_id(request))
