"""Issuing the HS256 JWTs the gateway verifies (shop/gateway/auth.py)."""

from __future__ import annotations

import time
import uuid

import jwt

from shop.gateway.auth import ALGORITHM
from shop.services.auth.models import User


def issue_token(user: User, *, secret: str, issuer: str, ttl_seconds: int) -> str:
    now = time.time()
    claims = {
        "sub": str(user.id),
        "email": user.email,
        "role": user.role,
        # To the millisecond (RFC 7519 allows fractions): a token issued just after a
        # password reset, in the same second, must still count as issued after it.
        "iat": round(now, 3),
        "exp": int(now) + ttl_seconds,
        "iss": issuer,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)
