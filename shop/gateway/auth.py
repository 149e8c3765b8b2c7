"""JWT verification: aiohttp-jwt decodes and checks the signature, then our claims
middleware insists on the claims the contract requires and sets the typed caller.

Tokens come only from the Authorization header, as `Bearer <token>` or as the bare token
the original clients sent; never from the URL.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp_jwt import JWTMiddleware

from shop.errors import Unauthorized
from shop.gateway.context import CALLER, TOKEN_SENT, Caller

ALGORITHM = "HS256"
_PAYLOAD_KEY = "jwt_payload"  # aiohttp-jwt only supports a string key here
_ROLES = {"customer", "admin"}
REQUIRED_CLAIMS = ("sub", "email", "role", "iat", "exp", "iss", "jti")

# Public routes where a stale token must not get in the way (logging in again, probes).
PUBLIC_PATHS = (
    r"^/api/auth/login$",
    r"^/api/auth/register$",
    r"^/health$",
    r"^/ready$",
    r"^/internal/",  # service-to-service routes carry their own credential instead
)


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization")
    if header is None:
        return None
    request[TOKEN_SENT] = True
    parts = header.strip().split()
    if len(parts) == 2 and parts[0].lower() == "bearer":
        return parts[1]
    if len(parts) == 1:
        return parts[0]
    raise Unauthorized("The Authorization header must be 'Bearer <token>'.", token_sent=True)


def jwt_middlewares(secret: str, issuer: str) -> list[Any]:
    decode = JWTMiddleware(
        secret,
        request_property=_PAYLOAD_KEY,
        credentials_required=False,  # handlers decide; public routes need no token
        whitelist=PUBLIC_PATHS,
        token_getter=bearer_token,
        algorithms=[ALGORITHM],
        issuer=issuer,
    )

    @web.middleware
    async def claims(request: web.Request, handler: Handler) -> web.StreamResponse:
        payload = request.get(_PAYLOAD_KEY)  # type: ignore[call-overload]
        if payload is not None:
            request[CALLER] = caller_from_claims(payload)
        return await handler(request)

    return [decode, claims]


def caller_from_claims(payload: dict[str, Any]) -> Caller:
    missing = [claim for claim in REQUIRED_CLAIMS if claim not in payload]
    if missing:
        raise Unauthorized(f"The token lacks required claims: {', '.join(missing)}.", token_sent=True)
    role = payload["role"]
    sub = payload["sub"]
    # Ids are positive 64-bit integers (SQLite's range): anything else could only fail later.
    if not (isinstance(sub, str) and 0 < len(sub) <= 19 and sub.isascii() and sub.isdigit() and 0 < int(sub) < 2**63):
        raise Unauthorized("The token's subject is not a user id.", token_sent=True)
    user_id = int(sub)
    if role not in _ROLES:
        raise Unauthorized("The token's role is not known.", token_sent=True)
    return Caller(user_id=user_id, email=str(payload["email"]), role=role)
