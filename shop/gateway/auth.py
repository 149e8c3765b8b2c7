"""JWT verification: aiohttp-jwt decodes and checks the signature, then `caller_from_claims`
insists on the claims the contract requires and sets the typed caller.

It runs only for a request that sent a token to a route that reads one: the gateway's fast
path (no Authorization header, a public route, a preflight) does no JWT work at all. Tokens
come only from the Authorization header, as `Bearer <token>` or as the bare token the
original clients sent; never from the URL.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp_jwt import JWTMiddleware

from shop.errors import Unauthorized
from shop.gateway.context import CALLER, TOKEN_SENT, Caller
from shop.gateway.paths import routed_path
from shop.gateway.revocation import TokenRevocations
from shop.openapi.describe import described
from shop.pathparams import parse_id

ALGORITHM = "HS256"
_PAYLOAD_KEY = "jwt_payload"  # aiohttp-jwt only supports a string key here
_ROLES = {"customer", "admin"}
REQUIRED_CLAIMS = ("sub", "email", "role", "iat", "exp", "iss", "jti")

# Where a stale token must not get in the way: the probes, and the paths services declare
# (logging in again; shop.services.Service.public_paths).
PROBE_PATHS = frozenset({"/health", "/ready"})
INTERNAL_PREFIX = "/internal/"  # service-to-service routes carry their own credential instead
VERIFIED_TOKENS = 10_000  # tokens remembered as verified; well under 1 KB each


def reads_token(request: web.Request, public_paths: frozenset[str]) -> bool:
    """Whether the request's token, if it sent one, is to be verified."""
    return not (
        request.method == "OPTIONS" or routed_path(request) in public_paths or request.path.startswith(INTERNAL_PREFIX)
    )


def anyone_may_call(request: web.Request) -> bool:
    """A route anyone may call (the catalogue): a token it cannot use is no reason to refuse
    it. The original UI sends `Authorization:` with an empty value before login and its
    expired token after a while; both are served as anonymous there."""
    operation = described(request.match_info.handler)
    return operation is not None and operation.auth == "public"


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization")
    if header is None:
        return None
    request[TOKEN_SENT] = True
    if not header.isascii():  # a JWT is base64url and dots; aiohttp-jwt would fail to encode the rest
        raise Unauthorized("The token is not a JWT.", token_sent=True)
    parts = header.strip().split()
    if len(parts) == 2 and parts[0].lower() == "bearer":
        return parts[1]
    if len(parts) == 1:
        return parts[0]
    raise Unauthorized("The Authorization header must be 'Bearer <token>'.", token_sent=True)


class TokenCheck:
    """aiohttp-jwt's middleware, run around the rest of a request that sent a token.

    A token aiohttp-jwt verified is remembered (bounded): the same header is the same bytes,
    whose signature and claims need checking once; its expiry is checked on every request.
    Verifying costs ~50 µs (PyJWT checks base64url in Python), a look-up well under one."""

    def __init__(
        self, secret: str, issuer: str, revocations: TokenRevocations, remember: int = VERIFIED_TOKENS
    ) -> None:
        self._decode = JWTMiddleware(
            secret,
            request_property=_PAYLOAD_KEY,
            credentials_required=False,  # only called with a token; handlers decide the rest
            token_getter=bearer_token,  # a bare token too, and a malformed header is a 401
            algorithms=[ALGORITHM],
            issuer=issuer,
        )
        self._verified: dict[str, tuple[Caller, float, float]] = {}  # header -> (caller, exp, iat)
        self._remember = remember
        self._revocations = revocations

    async def around(
        self, request: web.Request, then: Handler, anonymous_if_unusable: bool = False
    ) -> web.StreamResponse:
        """Verify the token (aiohttp-jwt raises HTTPUnauthorized for a bad one), set the
        caller from its claims, then `then`. With `anonymous_if_unusable`, a token refused
        before `then` began is ignored and `then` runs without a caller."""
        if not anonymous_if_unusable:
            return await self._verified_then(request, then)
        began = False

        async def beginning(request: web.Request) -> web.StreamResponse:
            nonlocal began
            began = True
            return await then(request)

        try:
            return await self._verified_then(request, beginning)
        except (web.HTTPUnauthorized, web.HTTPForbidden, Unauthorized):
            if began:  # the route itself refused: its answer stands
                raise
        request.pop(CALLER, None)
        request[TOKEN_SENT] = False
        return await then(request)

    async def _verified_then(self, request: web.Request, then: Handler) -> web.StreamResponse:
        header = request.headers["Authorization"]
        known = self._verified.get(header)
        if known is not None:
            caller, expires_at, issued_at = known
            if time.time() < expires_at:
                request[TOKEN_SENT] = True
                self._refuse_if_revoked(caller, issued_at)
                request[CALLER] = caller
                return await then(request)
            del self._verified[header]  # expired: aiohttp-jwt says so, with its answer

        async def with_caller(request: web.Request) -> web.StreamResponse:
            payload = request.get(_PAYLOAD_KEY)
            if payload is not None:
                caller = caller_from_claims(payload)
                issued_at = float(payload["iat"])
                self._refuse_if_revoked(caller, issued_at)
                request[CALLER] = caller
                self._keep(header, caller, payload["exp"], issued_at)
            return await then(request)

        return await self._decode(request, with_caller)  # type: ignore[no-any-return]  # aiohttp-jwt is untyped

    def _refuse_if_revoked(self, caller: Caller, issued_at: float) -> None:
        if not self._revocations.accepts(caller.user_id, issued_at):
            raise Unauthorized("This token is no longer valid; log in again.", token_sent=True)

    def _keep(self, header: str, caller: Caller, expires_at: float, issued_at: float) -> None:
        if len(self._verified) >= self._remember:
            self._verified.pop(next(iter(self._verified)))  # the oldest: dicts keep insertion order
        self._verified[header] = (caller, float(expires_at), issued_at)


def caller_from_claims(payload: dict[str, Any]) -> Caller:
    missing = [claim for claim in REQUIRED_CLAIMS if claim not in payload]
    if missing:
        raise Unauthorized(f"The token lacks required claims: {', '.join(missing)}.", token_sent=True)
    role = payload["role"]
    sub = payload["sub"]
    # A user id is a record id (users are numbered from 1): anything else could only fail later.
    user_id = parse_id(sub) if isinstance(sub, str) else None
    if not user_id:
        raise Unauthorized("The token's subject is not a user id.", token_sent=True)
    if role not in _ROLES:
        raise Unauthorized("The token's role is not known.", token_sent=True)
    return Caller(user_id=user_id, email=str(payload["email"]), role=role)
