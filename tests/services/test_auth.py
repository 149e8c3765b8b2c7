"""The auth service through the real app: register, login, /me, and what they never reveal."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from typing import Any

import jwt
import pytest

from shop.config import ShopConfig
from shop.services.auth.store import UserStore
from tests.assertions import problem, validation_problem
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, JWT_SECRET, Api, MakeApi

PASSWORD = "correct-horse-9"


async def register(api: Api, **body: Any) -> Any:
    body = {"name": "Ann", "email": "ann@example.com", "password": PASSWORD, **body}
    return await api.client.post("/api/auth/register", json=body)


def users_in_auth_db(cfg: ShopConfig) -> list[str]:
    with sqlite3.connect(cfg.data.dir / "auth.db") as conn:
        return [row[0] for row in conn.execute("SELECT email FROM users ORDER BY id")]


# -- register -------------------------------------------------------------------------------


async def test_register_returns_token_and_user(api: Api, cfg: ShopConfig) -> None:
    response = await register(api, city="Oslo")
    assert response.status == 201, await response.text()
    assert response.content_type == "application/json"
    body = await response.json()
    assert set(body) == {"token", "token_type", "expires_in", "user", "message"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == cfg.auth.token_ttl_seconds
    user = body["user"]
    assert set(user) == {"id", "name", "email", "role"}
    assert user["name"] == "Ann" and user["email"] == "ann@example.com" and user["role"] == "customer"
    assert isinstance(user["id"], int)

    claims = jwt.decode(body["token"], JWT_SECRET, algorithms=["HS256"], issuer=cfg.auth.issuer)
    assert set(claims) == {"sub", "email", "role", "iat", "exp", "iss", "jti"}
    assert claims["sub"] == str(user["id"]) and claims["email"] == "ann@example.com"
    # iat has milliseconds (a token issued just after a password reset must count as after it)
    assert claims["role"] == "customer" and claims["exp"] - int(claims["iat"]) == cfg.auth.token_ttl_seconds
    assert jwt.get_unverified_header(body["token"])["alg"] == "HS256"


async def test_register_creates_the_profile_with_the_same_id(api: Api) -> None:
    response = await register(api, address="1 Main St", city="Oslo", mobile="+47 123", interests="books")
    body = await response.json()
    profile = await api.client.get("/api/customers/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert profile.status == 200
    data = await profile.json()
    assert data["id"] == body["user"]["id"]
    assert (data["email"], data["address"], data["city"], data["mobile"], data["interests"]) == (
        "ann@example.com",
        "1 Main St",
        "Oslo",
        "+47 123",
        "books",
    )


async def test_register_lowercases_the_email(api: Api) -> None:
    response = await register(api, email="  Ann@Example.COM ")
    assert response.status == 201
    assert (await response.json())["user"]["email"] == "ann@example.com"


@pytest.mark.parametrize("second", ["ann@example.com", "ANN@example.com", "Ann@Example.Com"])
async def test_register_duplicate_email_is_409(api: Api, cfg: ShopConfig, second: str) -> None:
    assert (await register(api)).status == 201
    body = await problem(await register(api, email=second, name="Other"), 409)
    assert "email" in body["detail"].lower()
    assert users_in_auth_db(cfg).count("ann@example.com") == 1


@pytest.mark.parametrize("password", ["", "short", "seven77"])
async def test_register_weak_password_is_422(api: Api, cfg: ShopConfig, password: str) -> None:
    await validation_problem(await register(api, password=password), "password")
    assert "ann@example.com" not in users_in_auth_db(cfg)


async def test_password_of_exactly_eight_characters_is_enough(api: Api) -> None:
    assert (await register(api, password="eight888")).status == 201


@pytest.mark.parametrize("email", ["not-an-email", "ann@", "@example.com", "ann example@x.com", "ann@localhost", ""])
async def test_register_bad_email_is_422(api: Api, email: str) -> None:
    await validation_problem(await register(api, email=email), "email")


async def test_register_missing_fields_are_422(api: Api) -> None:
    response = await api.client.post("/api/auth/register", json={})
    await validation_problem(response, "name", "email", "password")


@pytest.mark.parametrize(("field", "value"), [("role", "admin"), ("id", 1), ("is_admin", True), ("password_hash", "x")])
async def test_register_rejects_read_only_and_unknown_fields(api: Api, cfg: ShopConfig, field: str, value: Any) -> None:
    await validation_problem(await register(api, **{field: value}), field)
    assert "ann@example.com" not in users_in_auth_db(cfg)


async def test_register_body_must_be_an_object(api: Api) -> None:
    response = await api.client.post("/api/auth/register", json=["ann@example.com", PASSWORD])
    await problem(response, 422)


# -- login ----------------------------------------------------------------------------------


async def test_login_returns_token_and_user(api: Api, cfg: ShopConfig) -> None:
    registered = await (await register(api)).json()
    response = await api.client.post("/api/auth/login", json={"email": "ANN@example.com", "password": PASSWORD})
    assert response.status == 200
    body = await response.json()
    assert set(body) == {"token", "token_type", "expires_in", "user"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == cfg.auth.token_ttl_seconds
    assert body["user"] == registered["user"]
    me = await api.client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status == 200


async def test_login_failures_are_indistinguishable(api: Api) -> None:
    await register(api)
    wrong_password = await api.client.post(
        "/api/auth/login", json={"email": "ann@example.com", "password": "wrong-pass-1"}
    )
    unknown_email = await api.client.post("/api/auth/login", json={"email": "bob@example.com", "password": PASSWORD})
    first = await problem(wrong_password, 401)
    second = await problem(unknown_email, 401)
    assert first["detail"] == second["detail"]
    assert first["title"] == second["title"] and first["type"] == second["type"]
    # No token was sent, so no invalid_token challenge: the credentials were wrong.
    assert wrong_password.headers["WWW-Authenticate"] == unknown_email.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    "body",
    [{}, {"email": "ann@example.com"}, {"password": PASSWORD}, {"email": "a@b.co", "password": "x", "role": "admin"}],
)
async def test_login_validates_its_body(api: Api, body: dict[str, Any]) -> None:
    await problem(await api.client.post("/api/auth/login", json=body), 422)


async def test_admin_is_created_at_start_up(api: Api) -> None:
    response = await api.client.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status == 200
    assert (await response.json())["user"]["role"] == "admin"


async def test_admin_is_created_once_across_restarts(make_api: MakeApi, cfg: ShopConfig) -> None:
    first = await make_api()
    await first.client.close()
    second = await make_api()
    await second.admin()
    assert users_in_auth_db(cfg) == [ADMIN_EMAIL]


# -- me -------------------------------------------------------------------------------------


async def test_me_returns_the_caller(api: Api) -> None:
    user = await api.register("Ann", email="ann@example.com")
    response = await api.client.get("/api/auth/me", headers=user.headers)
    assert response.status == 200
    assert await response.json() == {"id": user.id, "name": "Ann", "email": "ann@example.com", "role": "customer"}
    admin = await api.admin()
    response = await api.client.get("/api/auth/me", headers=admin.headers)
    assert (await response.json())["role"] == "admin"


async def test_me_without_token_is_401(api: Api) -> None:
    response = await api.client.get("/api/auth/me")
    await problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_me_for_a_deleted_account_is_401(api: Api, cfg: ShopConfig) -> None:
    user = await api.register()
    with sqlite3.connect(cfg.data.dir / "auth.db") as conn:
        conn.execute("DELETE FROM users WHERE id = ?", (user.id,))
    response = await api.client.get("/api/auth/me", headers=user.headers)
    await problem(response, 401)
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


# -- secrets never leave ----------------------------------------------------------------------


async def test_no_response_contains_a_password_or_hash(api: Api) -> None:
    password = "a-very-distinct-password-42"
    bodies = []
    response = await register(api, password=password)
    bodies.append(await response.text())
    token = (await response.json())["token"]
    headers = {"Authorization": f"Bearer {token}"}
    login = await api.client.post("/api/auth/login", json={"email": "ann@example.com", "password": password})
    bodies.append(await login.text())
    bodies.append(await (await api.client.get("/api/auth/me", headers=headers)).text())
    bodies.append(await (await api.client.get("/api/customers/me", headers=headers)).text())
    admin = await api.admin()
    bodies.append(await (await api.client.get("/api/customers", headers=admin.headers)).text())
    user_id = (await login.json())["user"]["id"]
    bodies.append(await (await api.client.get(f"/api/customers/{user_id}", headers=admin.headers)).text())
    patched = await api.client.patch(f"/api/customers/{user_id}", json={"city": "Oslo"}, headers=headers)
    bodies.append(await patched.text())
    # A failed validation must not echo the password back either.
    weak = await register(api, email="bob@example.com", password="Zq9!xW")
    bodies.append(await weak.text())
    for body in bodies:
        assert password not in body and "Zq9!xW" not in body
        assert "$argon2" not in body and "password_hash" not in body


async def test_passwords_are_stored_as_argon2id_hashes(api: Api, cfg: ShopConfig) -> None:
    await register(api)
    with sqlite3.connect(cfg.data.dir / "auth.db") as conn:
        (stored,) = conn.execute("SELECT password_hash FROM users WHERE email = 'ann@example.com'").fetchone()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


# -- registration is one operation ------------------------------------------------------------


async def test_register_with_customers_unreachable_leaves_no_user(
    make_api: MakeApi, unused_tcp_port: int, cfg: ShopConfig
) -> None:
    api = await make_api(services={"customers": {"url": f"http://127.0.0.1:{unused_tcp_port}"}})
    response = await register(api)
    body = await problem(response, 503)
    assert "customers" in body["detail"]
    login = await api.client.post("/api/auth/login", json={"email": "ann@example.com", "password": PASSWORD})
    await problem(login, 401)
    # Not even the configured admin: its profile could not be made either.
    assert users_in_auth_db(cfg) == []


async def test_failed_user_insert_removes_the_new_profile(
    api: Api, cfg: ShopConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = await api.admin()
    ann = await api.register(email="ann@example.com")
    # Ann's profile vanishes while her login stays (behind the API's back: the API deletes
    # both); a second registration with her email that slips past the duplicate check (the
    # race) gets a profile, then fails on the login.
    with sqlite3.connect(cfg.data.dir / "customers.db") as conn:
        conn.execute("DELETE FROM customers WHERE id = ?", (ann.id,))
    listed = await api.client.get("/api/customers", headers=admin.headers)
    before = await listed.json()

    async def never_taken(self: UserStore, email: str) -> bool:
        return False

    monkeypatch.setattr(UserStore, "email_taken", never_taken)
    await problem(await register(api, name="Impostor"), 409)

    after = await (await api.client.get("/api/customers", headers=admin.headers)).json()
    assert after == before
    assert users_in_auth_db(cfg).count("ann@example.com") == 1


async def test_token_expiry_comes_from_configuration(make_api: MakeApi) -> None:
    api = await make_api(auth={"token_ttl_seconds": 120})
    body = await (await register(api)).json()
    assert body["expires_in"] == 120
    claims = jwt.decode(body["token"], JWT_SECRET, algorithms=["HS256"], options={"verify_iss": False})
    assert abs(claims["exp"] - time.time() - 120) < 60


async def test_concurrent_registrations_of_one_email_make_one_account(api: Api, cfg: ShopConfig) -> None:
    responses = await asyncio.gather(*(register(api, name=f"Ann {n}") for n in range(5)))
    statuses = sorted(response.status for response in responses)
    assert statuses == [201, 409, 409, 409, 409]
    assert users_in_auth_db(cfg).count("ann@example.com") == 1
    admin = await api.admin()
    listed = await (await api.client.get("/api/customers", headers=admin.headers)).json()
    assert [c["email"] for c in listed].count("ann@example.com") == 1


def test_a_token_is_never_issued_in_the_future(monkeypatch: pytest.MonkeyPatch) -> None:
    # PyJWT refuses a token whose int(iat) is after its clock: an iat rounded up to the next
    # second (x.9999996 -> x+1) would be refused until that second began.
    from shop.services.auth import tokens
    from shop.services.auth.models import User

    moment = 1764547199.9999996
    monkeypatch.setattr(tokens.time, "time", lambda: moment)
    token = tokens.issue_token(
        User(id=1, name="A", email="a@example.com", role="customer"), secret=JWT_SECRET, issuer="shop", ttl_seconds=60
    )
    issued_at = jwt.decode(token, options={"verify_signature": False})["iat"]
    assert issued_at <= moment and int(issued_at) <= moment
    assert moment - issued_at < 1e-6  # still to the microsecond
