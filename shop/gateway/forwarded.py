"""Requests the gateway forwarded to a service process, and the client address behind them.

In a split deployment the gateway forwards a client's request to the process that runs the
service, with the service credential (X-Service-Token) and the client's address
(X-Forwarded-For). Only a request that carries the credential is believed: without it,
X-Forwarded-For is ignored, so a client cannot pick the address it is rate limited and logged
under. A forwarded request was rate limited once, at the gateway, and is not limited again
(the service process would otherwise count every user as the gateway's one address).
"""

from __future__ import annotations

import hmac
import ipaddress

from aiohttp import web

from shop.errors import Unauthorized
from shop.registry import SERVICE_TOKEN_HEADER

FORWARDED_FOR_HEADER = "X-Forwarded-For"

# Set only for a request that carried the service credential: the address of the client the
# gateway (or another service) acts for.
FORWARDED_FOR = web.RequestKey("forwarded_for", str)


def vouched_client(request: web.Request, service_token: bytes) -> str | None:
    """For a request carrying the service credential, the client address it vouches for
    (kept on the request for `client_address` and `is_forwarded`); None for any other."""
    sent = request.headers.get(SERVICE_TOKEN_HEADER)
    if sent is None:
        return None
    # A wrong credential is refused outright rather than ignored: it is a deployment fault
    # (or a probe), and silence would hide it. aiohttp hands on header bytes that are not
    # UTF-8 as surrogates; encoded back the same way they compare unequal instead of failing.
    if not hmac.compare_digest(sent.encode(errors="surrogateescape"), service_token):
        raise Unauthorized("The service credential is wrong.")
    address = _client_address(request.headers.get(FORWARDED_FOR_HEADER)) or (request.remote or "")
    request[FORWARDED_FOR] = address
    return address


def _client_address(header: str | None) -> str | None:
    """The gateway sends exactly one address; anything else is not believed."""
    if header is None:
        return None
    try:
        return str(ipaddress.ip_address(header.strip()))
    except ValueError:
        return None


def is_forwarded(request: web.Request) -> bool:
    """Whether the request came from a gateway or service that holds the credential."""
    return FORWARDED_FOR in request


def client_address(request: web.Request) -> str | None:
    """The address of the client: the forwarded one when the credential vouches for it."""
    return request.get(FORWARDED_FOR) or request.remote
