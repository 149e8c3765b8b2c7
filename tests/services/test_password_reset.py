"""Password reset: POST /api/auth/forgot-password (and the original's /api/forgot-password)
sends a single-use token as a signed auth.password_reset_requested notification; POST
/api/auth/reset-password sets the password and voids every token issued before."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from shop.app import create_app
from tests.conftest import Api, User, make_config
from tests.waiting import eventually, holds
from tests.webhooks import WebhookTarget, start_webhook_target

SECRET = "webhook-secret-for-tests-" + "z" * 20
EVENT = "auth.password_reset_requested"


@pytest.fixture
async def mailer() -> AsyncIterator[WebhookTarget]:
    target = await start_webhook_target()
    yield target
    await target.server.close()


MakeShop = Callable[..., Awaitable[Api]]


@pytest.fixture
def make_shop(aiohttp_client: Callable[..., Awaitable[TestClient]], tmp_path: Path, mailer: WebhookTarget) -> MakeShop:
    async def make(**sections: dict[str, Any]) -> Api:
        cfg = make_config(
            tmp_path / "data",
            notifications={"webhooks": [mailer.url]},
            dispatcher={"webhook_secret": SECRET, "max_attempts": 2, **sections.pop("dispatcher", {})},
            **sections,
        )
        return Api(await aiohttp_client(create_app(cfg)))

    return make


async def reset_token(api: Api, mailer: WebhookTarget, user: User) -> str:
    sent = len(mailer.received)
    response = await api.client.post("/api/auth/forgot-password", json={"email": user.email})
    assert response.status == 202
    await eventually(lambda: holds(len(mailer.received) > sent), "the reset notification")
    return str(json.loads(mailer.received[-1].body)["data"]["reset_token"])


async def test_the_reset_token_arrives_signed_at_the_notification_webhooks(
    make_shop: MakeShop, mailer: WebhookTarget
) -> None:
    api = await make_shop()
    user = await api.register(name="Ada Lovelace")
    response = await api.client.post("/api/auth/forgot-password", json={"email": user.email.upper()})
    assert response.status == 202
    await eventually(lambda: holds(len(mailer.received) == 1), "the reset notification")
    [received] = mailer.received
    assert received.headers["X-Shop-Event"] == EVENT
    expected = "sha256=" + hmac.new(SECRET.encode(), received.body, hashlib.sha256).hexdigest()
    assert received.headers["X-Shop-Signature"] == expected
    envelope = json.loads(received.body)
    assert envelope["type"] == EVENT
    data = envelope["data"]
    assert set(data) == {"email", "name", "reset_token", "expires_at"}
    assert data["email"] == user.email and data["name"] == "Ada Lovelace" and len(data["reset_token"]) >= 40
    assert data["expires_at"].endswith("Z")


async def test_the_answer_is_the_same_for_unknown_accounts(make_shop: MakeShop, mailer: WebhookTarget) -> None:
    api = await make_shop()
    user = await api.register()
    answers = []
    for path, email in [
        ("/api/auth/forgot-password", user.email),
        ("/api/auth/forgot-password", "nobody@example.com"),
        ("/api/forgot-password", "nobody@example.com"),
        ("/api/forgot-password", "not an email"),
    ]:
        response = await api.client.post(path, json={"email": email})
        answers.append((response.status, await response.json()))
    assert all(answer == answers[0] for answer in answers) and answers[0][0] == 202
    await eventually(lambda: holds(len(mailer.received) == 1), "the one reset notification")
    await api.client.get("/health")  # a turn for any stray notification to show up
    assert len(mailer.received) == 1


async def test_the_reset_token_is_stored_only_as_a_hash(
    make_shop: MakeShop, mailer: WebhookTarget, tmp_path: Path
) -> None:
    api = await make_shop()
    user = await api.register()
    token = await reset_token(api, mailer, user)
    raw = (tmp_path / "data" / "auth.db").read_bytes() + b"".join(
        path.read_bytes() for path in (tmp_path / "data").glob("auth.db-wal")
    )
    assert token.encode() not in raw


async def test_a_reset_sets_the_password_once_and_voids_earlier_tokens(
    make_shop: MakeShop, mailer: WebhookTarget
) -> None:
    api = await make_shop()
    user = await api.register()
    other = await api.register()
    before = await api.login(user.email, user.password)
    # Remembered as verified by the gateway: revocation must reach those too.
    assert (await api.client.get("/api/orders", headers=before.headers)).status == 200
    token = await reset_token(api, mailer, user)

    response = await api.client.post("/api/auth/reset-password", json={"token": token, "password": "new-password-1"})
    assert response.status == 204
    for old in (user, before):
        for path in ("/api/auth/me", "/api/orders", f"/api/customers/{user.id}"):
            refused = await api.client.get(path, headers=old.headers)
            assert refused.status == 401, path
            assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        bare = await api.client.get("/api/orders", headers={"Authorization": old.token})
        assert bare.status == 401
    # Another account's tokens are untouched; the catalogue serves a voided token as anonymous.
    assert (await api.client.get("/api/orders", headers=other.headers)).status == 200
    assert (await api.client.get("/api/products", headers=user.headers)).status == 200

    login = await api.client.post("/api/auth/login", json={"email": user.email, "password": user.password})
    assert login.status == 401
    after = await api.login(user.email, "new-password-1")  # at once: a new token is not voided
    assert (await api.client.get("/api/orders", headers=after.headers)).status == 200

    again = await api.client.post("/api/auth/reset-password", json={"token": token, "password": "third-password"})
    assert again.status == 422
    assert [error["loc"] for error in (await again.json())["errors"]] == [["token"]]
    assert (await api.client.get("/api/orders", headers=after.headers)).status == 200


async def test_asking_again_leaves_one_working_token_per_reset(make_shop: MakeShop, mailer: WebhookTarget) -> None:
    api = await make_shop()
    user = await api.register()
    first = await reset_token(api, mailer, user)
    second = await reset_token(api, mailer, user)
    assert first != second
    response = await api.client.post("/api/auth/reset-password", json={"token": second, "password": "new-password-1"})
    assert response.status == 204
    # The reset spent every token the account had.
    response = await api.client.post("/api/auth/reset-password", json={"token": first, "password": "new-password-2"})
    assert response.status == 422


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"token": "x", "password": "short"}, "password"),
        ({"token": "not-a-token", "password": "long-enough-1"}, "token"),
        ({"token": "x", "password": "long-enough-1", "extra": 1}, "extra"),
    ],
)
async def test_refused_resets_are_422(make_shop: MakeShop, body: dict[str, Any], field: str) -> None:
    api = await make_shop()
    response = await api.client.post("/api/auth/reset-password", json=body)
    assert response.status == 422
    assert [error["loc"][-1] for error in (await response.json())["errors"]] == [field]


async def test_an_expired_token_resets_nothing(make_shop: MakeShop, mailer: WebhookTarget, tmp_path: Path) -> None:
    api = await make_shop()
    user = await api.register()
    token = await reset_token(api, mailer, user)
    with sqlite3.connect(tmp_path / "data" / "auth.db") as conn:  # the clock moved past its expiry
        conn.execute("UPDATE password_resets SET expires_at = expires_at - 1801")
    response = await api.client.post("/api/auth/reset-password", json={"token": token, "password": "new-password-1"})
    assert response.status == 422
    await api.login(user.email, user.password)


async def test_the_token_lives_as_configured(make_shop: MakeShop, mailer: WebhookTarget) -> None:
    api = await make_shop(auth={"reset_token_ttl_seconds": 600})
    user = await api.register()
    before = await api.client.get("/health")
    await reset_token(api, mailer, user)
    data = json.loads(mailer.received[-1].body)
    from datetime import datetime

    sent = datetime.fromisoformat(data["occurred_at"]).timestamp()
    expires = datetime.fromisoformat(data["data"]["expires_at"]).timestamp()
    assert 599 <= expires - sent <= 601
    assert before.status == 200


async def test_voided_tokens_stay_void_after_a_restart(
    aiohttp_client: Callable[..., Awaitable[TestClient]], tmp_path: Path, mailer: WebhookTarget
) -> None:
    cfg = make_config(tmp_path / "data", notifications={"webhooks": [mailer.url]})
    api = Api(await aiohttp_client(create_app(cfg)))
    user = await api.register()
    token = await reset_token(api, mailer, user)
    assert (
        await api.client.post("/api/auth/reset-password", json={"token": token, "password": "new-password-1"})
    ).status == 204
    await api.client.close()
    restarted = Api(await aiohttp_client(create_app(cfg)))
    assert (await restarted.client.get("/api/orders", headers=user.headers)).status == 401
    after = await restarted.login(user.email, "new-password-1")
    assert (await restarted.client.get("/api/orders", headers=after.headers)).status == 200


async def test_a_failed_notification_is_listed_and_an_admin_can_retry_it(
    make_shop: MakeShop, mailer: WebhookTarget
) -> None:
    api = await make_shop()
    user, admin = await api.register(), await api.admin()
    mailer.status = 503
    await api.client.post("/api/auth/forgot-password", json={"email": user.email})

    async def failed() -> list[dict[str, Any]]:
        response = await api.client.get("/api/dispatcher/deliveries?status=failed", headers=admin.headers)
        return [d for d in await response.json() if d["event_type"] == EVENT]

    [delivery] = await eventually(failed, "the notification to be marked failed")
    assert delivery["order_id"] is None and delivery["target"] == mailer.url and delivery["attempts"] == 2
    mailer.status = 200
    response = await api.client.post(f"/api/dispatcher/deliveries/{delivery['id']}/retry", headers=admin.headers)
    assert response.status == 202
    await eventually(lambda: holds(len(mailer.received) == 3), "the retried notification")
    first, retried = json.loads(mailer.received[0].body), json.loads(mailer.received[-1].body)
    assert first == retried  # the same event, the same token
    response = await api.client.post(
        "/api/auth/reset-password", json={"token": retried["data"]["reset_token"], "password": "new-password-1"}
    )
    assert response.status == 204


async def test_forgot_password_is_rate_limited_like_login(make_shop: MakeShop) -> None:
    api = await make_shop(gateway={"auth_rate_limit_per_minute": 2})
    statuses = []
    for path in ("/api/auth/forgot-password", "/api/forgot-password", "/api//auth/forgot-password"):
        response = await api.client.post(path, json={"email": "someone@example.com"})
        statuses.append(response.status)
    assert statuses == [202, 202, 429]
    response = await api.client.post("/api/auth/reset-password", json={"token": "t", "password": "long-enough-1"})
    assert response.status == 429


async def test_auth_hands_the_notification_to_a_dispatcher_in_another_process(
    aiohttp_client: Callable[..., Awaitable[TestClient]], tmp_path: Path, mailer: WebhookTarget
) -> None:
    orders = await aiohttp_client(
        create_app(
            make_config(
                tmp_path / "orders",
                notifications={"webhooks": [mailer.url]},
                # Orders calls products and customers; neither is called in this test.
                services={"products": {"url": "http://127.0.0.1:9"}, "customers": {"url": "http://127.0.0.1:9"}},
            ),
            ["orders", "dispatcher"],
        )
    )
    dispatcher_url = str(orders.make_url("")).rstrip("/")
    accounts = Api(
        await aiohttp_client(
            create_app(
                make_config(tmp_path / "auth", services={"dispatcher": {"url": dispatcher_url}}), ["auth", "customers"]
            )
        )
    )
    user = await accounts.register()
    response = await accounts.client.post("/api/auth/forgot-password", json={"email": user.email})
    assert response.status == 202
    await eventually(lambda: holds(len(mailer.received) == 1), "the reset notification, sent by the other process")
    token = json.loads(mailer.received[0].body)["data"]["reset_token"]
    response = await accounts.client.post(
        "/api/auth/reset-password", json={"token": token, "password": "new-password-1"}
    )
    assert response.status == 204
    # Internal: refused without the service credential.
    refused = await orders.post("/internal/dispatcher/notifications", json={})
    assert refused.status in (401, 403)
