"""Token verification at the gateway: every kind of bad token is a 401 problem document with
the invalid_token challenge, and a token is only ever taken from the Authorization header."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from typing import Any

import jwt
import pytest

from tests.assertions import problem
from tests.conftest import JWT_SECRET, Api, User

INVALID_TOKEN = 'Bearer error="invalid_token"'


@pytest.fixture
async def user(api: Api) -> User:
    return await api.register("Ann")


def claims_for(user: User, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(user.id),
        "email": user.email,
        "role": "customer",
        "iat": now,
        "exp": now + 600,
        "iss": "shop",
        "jti": uuid.uuid4().hex,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def sign(claims: dict[str, Any], secret: str = JWT_SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(claims: dict[str, Any]) -> str:
    """An alg "none" token, built by hand so no library refuses to make it."""
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(claims).encode())}."


async def assert_rejected(api: Api, authorization: str) -> dict[str, Any]:
    response = await api.client.get("/api/auth/me", headers={"Authorization": authorization})
    body = await problem(response, 401)
    assert response.headers["WWW-Authenticate"] == INVALID_TOKEN
    return body


async def test_a_good_token_works_with_and_without_the_scheme(api: Api, user: User) -> None:
    for authorization in (f"Bearer {user.token}", f"bearer {user.token}", user.token, f"  Bearer   {user.token} "):
        response = await api.client.get("/api/auth/me", headers={"Authorization": authorization})
        assert response.status == 200, authorization
        assert (await response.json())["id"] == user.id


async def test_a_hand_made_token_with_every_claim_works(api: Api, user: User) -> None:
    # The gateway trusts the signature and the claims, not where the token came from.
    response = await api.client.get("/api/auth/me", headers={"Authorization": f"Bearer {sign(claims_for(user))}"})
    assert response.status == 200


async def test_alg_none_is_rejected(api: Api, user: User) -> None:
    await assert_rejected(api, f"Bearer {unsigned(claims_for(user))}")
    await assert_rejected(api, unsigned(claims_for(user, role="admin")))


async def test_wrong_signature_is_rejected(api: Api, user: User) -> None:
    await assert_rejected(api, f"Bearer {sign(claims_for(user), 'another-secret-' + 'z' * 40)}")
    header, _payload, signature = user.token.split(".")
    forged = _b64(json.dumps({**jwt.decode(user.token, options={"verify_signature": False}), "role": "admin"}).encode())
    await assert_rejected(api, f"Bearer {header}.{forged}.{signature}")


# The right secret, signed as HS512: PyJWT warns that 52 bytes is short for SHA-512.
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
async def test_another_algorithm_is_rejected(api: Api, user: User) -> None:
    await assert_rejected(api, f"Bearer {sign(claims_for(user), algorithm='HS512')}")


async def test_expired_token_is_rejected(api: Api, user: User) -> None:
    long_ago = int(time.time()) - 7200
    await assert_rejected(api, f"Bearer {sign(claims_for(user, iat=long_ago, exp=long_ago + 600))}")


@pytest.mark.parametrize("claim", ["exp", "sub", "role", "iss", "iat", "jti", "email"])
async def test_token_missing_a_required_claim_is_rejected(api: Api, user: User, claim: str) -> None:
    # Signed with the right secret: only the missing claim is wrong.
    await assert_rejected(api, f"Bearer {sign(claims_for(user, **{claim: None}))}")


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "someone-else"},
        {"role": "superuser"},
        {"sub": "not-a-number"},
        {"sub": "99999999999999999999"},
        {"sub": "-3"},
        {"iat": int(time.time()) + 3600},
    ],
    ids=[
        "wrong-issuer",
        "unknown-role",
        "bad-subject",
        "subject-out-of-range",
        "negative-subject",
        "issued-in-the-future",
    ],
)
async def test_token_with_wrong_claims_is_rejected(api: Api, user: User, changes: dict[str, Any]) -> None:
    await assert_rejected(api, f"Bearer {sign(claims_for(user, **changes))}")


@pytest.mark.parametrize(
    "authorization",
    ["Bearer", "Bearer a b", "Basic YWxhZGRpbjpvcGVuc2VzYW1l", "Bearer not.a.jwt", "garbage", "Token abc.def.ghi", ""],
)
async def test_malformed_authorization_header_is_401(api: Api, authorization: str) -> None:
    await assert_rejected(api, authorization)


@pytest.mark.parametrize("parameter", ["token", "access_token", "jwt", "authorization"])
async def test_token_in_the_query_string_is_ignored(api: Api, user: User, parameter: str) -> None:
    response = await api.client.get(f"/api/auth/me?{parameter}={user.token}")
    await problem(response, 401)
    # No Authorization header was sent, so this is "authenticate", not "your token is bad"
    # (RFC 6750 section 3.1: no error code for an unsupported way of sending one).
    assert response.headers["WWW-Authenticate"] == "Bearer"
    response = await api.client.get(f"/api/customers/me?{parameter}=Bearer%20{user.token}")
    await problem(response, 401)


async def test_a_stale_token_does_not_block_login_or_register(api: Api, user: User) -> None:
    expired = sign(claims_for(user, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600))
    headers = {"Authorization": f"Bearer {expired}"}
    login = await api.client.post(
        "/api/auth/login", json={"email": user.email, "password": user.password}, headers=headers
    )
    assert login.status == 200
    register = await api.client.post(
        "/api/auth/register",
        json={"name": "Bo", "email": "bo@example.com", "password": "password-123"},
        headers=headers,
    )
    assert register.status == 201


@pytest.mark.parametrize("path", ["/health", "/ready"])
async def test_probes_ignore_a_bad_token(api: Api, path: str) -> None:
    # Public routes never look at the token: a stale one in a shared client cannot fail them.
    response = await api.client.get(path, headers={"Authorization": "Bearer not.a.jwt"})
    assert response.status == 200


async def test_a_token_verified_before_is_refused_once_it_expires(api: Api, user: User) -> None:
    # The gateway remembers verified tokens; their expiry must still be checked every time.
    expires_at = int(time.time()) + 2
    token = sign(claims_for(user, exp=expires_at))
    for _ in range(2):  # verified, then remembered
        response = await api.client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status == 200
    await asyncio.sleep(expires_at - time.time() + 0.05)  # waiting for the clock itself
    await assert_rejected(api, f"Bearer {token}")


async def test_a_remembered_token_is_not_a_key_to_a_forged_one(api: Api, user: User) -> None:
    good = sign(claims_for(user))
    response = await api.client.get("/api/auth/me", headers={"Authorization": f"Bearer {good}"})
    assert response.status == 200
    header, _payload, signature = good.split(".")
    admin_claims = _b64(json.dumps(claims_for(user, role="admin")).encode())
    await assert_rejected(api, f"Bearer {header}.{admin_claims}.{signature}")
