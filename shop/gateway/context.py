"""Per-request values the middlewares establish and handlers read: request id and caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aiohttp import web

from shop.errors import Forbidden, NotFound, Unauthorized

Role = Literal["customer", "admin", "service"]


@dataclass(frozen=True, slots=True)
class Caller:
    user_id: int
    email: str
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


REQUEST_ID = web.RequestKey("request_id", str)
CALLER = web.RequestKey("caller", Caller)
# True when the request carried a token at all (even one we rejected): decides the
# WWW-Authenticate challenge on a 401.
TOKEN_SENT = web.RequestKey("token_sent", bool)


def request_id(request: web.Request) -> str:
    value: str = request.get(REQUEST_ID, "")  # Request.get is typed Any for a RequestKey too
    return value


def optional_caller(request: web.Request) -> Caller | None:
    return request.get(CALLER)


def require_caller(request: web.Request) -> Caller:
    caller: Caller | None = request.get(CALLER)
    if caller is None:
        raise Unauthorized(token_sent=request.get(TOKEN_SENT, False))
    return caller


def require_admin(request: web.Request) -> Caller:
    caller = require_caller(request)
    if not caller.is_admin:
        raise Forbidden("This needs an administrator.")
    return caller


def require_owner_or_admin(request: web.Request, owner_id: int, what: str) -> Caller:
    """The caller may see the record: 404 (not 403) for anyone else, so ids reveal nothing."""
    caller = require_caller(request)
    if not caller.is_admin and caller.user_id != owner_id:
        raise NotFound(f"{what} not found.")
    return caller
