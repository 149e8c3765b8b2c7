"""Issuing the HS256 JWTs the gateway verifies (shop/gateway/auth.py)."""

from __future__ import annotations

import math
import time
import uuid

import jwt

from shop.gateway.auth import ALGORITHM
from shop.services.auth.models import User


def token_time(moment: float) -> float:
    """A moment as a token's `iat` carries it: to the microsecond, rounded down. Down, as a
    verifier refuses a token issued in its future (PyJWT compares int(iat) with its clock);
    to the microsecond, as a token issued before a password change, even in the same
    millisecond, must be void after it, and one issued after it must not (voiding compares
    moments rounded the same way)."""
    return math.floor(moment * 1_000_000) / 1_000_000


def issue_token(user: User, *, secret: str, issuer: str, ttl_seconds: int) -> str:
    now = time.time()
    claims = {
        "sub": str(user.id),
        "email": user.email,
        "role": user.role,
        # A fraction of a second (RFC 7519 allows it): a token issued just after a password
        # reset, in the same second, must still count as issued after it.
        "iat": token_time(now),
        "exp": int(now) + ttl_seconds,
        "iss": issuer,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)
