"""Finished bookkeeping is pruned in the background after its configured age, and nothing
a guarantee still needs is: a young Idempotency-Key, an unpublished event, a failed delivery."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shop.clock import utc_now
from shop.config import ShopConfig
from shop.services.orders import app as orders_app
from tests.conftest import MakeApi
from tests.services.test_orders import place
from tests.waiting import eventually, holds
from tests.webhooks import WebhookTarget, start_webhook_target

DAY = 24 * 3600
PRUNE_OFTEN = {"interval_seconds": 0.02}
ORDER = {"items": [{"product_id": 1, "quantity": 1}]}


def sql(path: Path, statement: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Another connection to a live database: to age rows, and to look at what is left."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout=5000")
        return conn.execute(statement, params).fetchall()
    finally:
        conn.close()


def count(path: Path, table: str) -> int:
    return int(sql(path, f"SELECT COUNT(*) FROM {table}")[0][0])


async def test_an_idempotency_key_is_forgotten_after_its_age_and_not_before(make_api: MakeApi, tmp_path: Path) -> None:
    api = await make_api(retention=PRUNE_OFTEN)
    orders_db = tmp_path / "data" / "orders.db"
    user = await api.register()
    _, old = await place(api, user, ORDER, key="old-key")
    _, young = await place(api, user, ORDER, key="young-key")
    sql(orders_db, "UPDATE idempotency_keys SET created_at = ? WHERE key = 'old-key'", (utc_now(DAY + 60),))
    sql(orders_db, "UPDATE idempotency_keys SET created_at = ? WHERE key = 'young-key'", (utc_now(DAY - 600),))

    await eventually(lambda: holds(count(orders_db, "idempotency_keys") == 1), "the old key pruned")
    status, again = await place(api, user, ORDER, key="young-key")
    assert (status, again["id"]) == (200, young["id"])  # still within its 24 hours
    status, new = await place(api, user, ORDER, key="old-key")
    assert status == 201 and new["id"] != old["id"]


def test_an_idempotency_key_cannot_be_kept_less_than_a_day(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="idempotency_keys_seconds"):
        ShopConfig.model_validate({"retention": {"idempotency_keys_seconds": DAY - 1}})


async def test_published_outbox_rows_are_pruned_and_unpublished_ones_kept(make_api: MakeApi, tmp_path: Path) -> None:
    # The relay is off: nothing is published but what the test marks so.
    api = await make_api(retention={**PRUNE_OFTEN, "published_outbox_seconds": 3600}, bus={"relay_enabled": False})
    orders_db = tmp_path / "data" / "orders.db"
    user = await api.register()
    for _ in range(3):
        await place(api, user, ORDER)
    sql(orders_db, "UPDATE outbox SET published_at = ? WHERE id = 1", (utc_now(7200),))  # acknowledged long ago
    sql(orders_db, "UPDATE outbox SET created_at = ? WHERE id = 2", (utc_now(7200),))  # old, still unpublished
    sql(orders_db, "UPDATE outbox SET published_at = ? WHERE id = 3", (utc_now(),))  # acknowledged just now
    await eventually(
        lambda: holds(not sql(orders_db, "SELECT id FROM outbox WHERE id = 1")), "the old published row pruned"
    )
    assert sql(orders_db, "SELECT id, published_at IS NULL FROM outbox ORDER BY id") == [(2, 1), (3, 0)]


@pytest.fixture
async def target() -> AsyncIterator[WebhookTarget]:
    target = await start_webhook_target()
    yield target
    await target.server.close()


async def test_handled_events_and_finished_deliveries_are_pruned_failed_ones_kept(
    make_api: MakeApi, tmp_path: Path, target: WebhookTarget
) -> None:
    api = await make_api(
        retention={**PRUNE_OFTEN, "handled_events_seconds": 3600, "finished_deliveries_seconds": 3600},
        dispatcher={"webhooks": [target.url], "max_attempts": 1},
    )
    dispatcher_db = tmp_path / "data" / "dispatcher.db"
    user = await api.register()
    _, delivered = await place(api, user, ORDER)
    await eventually(lambda: holds(count(dispatcher_db, "dispatches WHERE state = 'done'") == 1), "dispatched")
    target.status = 503
    _, failing = await place(api, user, ORDER)
    await eventually(
        lambda: holds(count(dispatcher_db, "deliveries WHERE status = 'failed'") == 1), "a failed delivery"
    )

    long_ago, long_ago_ts = utc_now(7200), sql(dispatcher_db, "SELECT unixepoch('now') - 7200")[0][0]
    sql(dispatcher_db, "UPDATE handled_events SET handled_at = ?", (long_ago,))
    sql(dispatcher_db, "UPDATE deliveries SET next_attempt_at = ?, updated_at = ?", (long_ago_ts, long_ago))
    sql(dispatcher_db, "UPDATE dispatches SET updated_at = ?", (long_ago,))

    await eventually(lambda: holds(count(dispatcher_db, "handled_events") == 0), "handled events pruned")
    await eventually(lambda: holds(count(dispatcher_db, "dispatches WHERE state = 'done'") == 0), "dispatches pruned")
    await eventually(
        lambda: holds(count(dispatcher_db, "deliveries WHERE status = 'delivered'") == 0), "deliveries pruned"
    )
    # The failed delivery stays for an admin to retry, and its order still waits for it.
    assert sql(dispatcher_db, "SELECT order_id, status FROM deliveries") == [(failing["id"], "failed")]
    assert sql(dispatcher_db, "SELECT order_id, state FROM dispatches") == [(failing["id"], "waiting")]
    assert delivered["id"] != failing["id"]


async def test_released_reservations_are_pruned_and_held_ones_kept(make_api: MakeApi, tmp_path: Path) -> None:
    # No dispatcher: it could dispatch (and settle) an order before the test cancels it.
    api = await make_api(
        retention={**PRUNE_OFTEN, "released_reservations_seconds": 3600}, dispatcher={"enabled": False}
    )
    products_db = tmp_path / "data" / "products.db"
    user = await api.register()
    _, kept = await place(api, user, ORDER)
    _, cancelled = await place(api, user, ORDER)
    assert (await api.client.post(f"/api/orders/{cancelled['id']}/cancel", headers=user.headers)).status == 200
    await eventually(lambda: holds(count(products_db, "reservations WHERE released_at IS NOT NULL") == 1), "released")
    sql(products_db, "UPDATE reservations SET released_at = ? WHERE released_at IS NOT NULL", (utc_now(7200),))
    await eventually(lambda: holds(count(products_db, "reservations WHERE released_at IS NOT NULL") == 0), "pruned")
    assert count(products_db, "reservations WHERE released_at IS NULL") == 1  # the order that holds its stock
    assert kept["id"] != cancelled["id"]


async def test_dispatched_orders_reservations_are_settled_then_pruned(
    make_api: MakeApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without settling, each dispatched order kept a held reservation in orders.db and in
    # products.db for ever: both grew with every order.
    monkeypatch.setattr(orders_app, "RECONCILE_SECONDS", 0.02)
    api = await make_api(retention={**PRUNE_OFTEN, "released_reservations_seconds": 3600})
    orders_db, products_db = tmp_path / "data" / "orders.db", tmp_path / "data" / "products.db"
    user = await api.register()
    _, dispatched = await place(api, user, ORDER)
    await eventually(lambda: holds(count(orders_db, "reservations") == 0), "settled and forgotten by orders")
    assert count(products_db, "reservations WHERE settled_at IS NOT NULL") == 1
    sql(products_db, "UPDATE reservations SET settled_at = ?", (utc_now(7200),))
    await eventually(lambda: holds(count(products_db, "reservations") == 0), "pruned by products")
    response = await api.client.get(f"/api/orders/{dispatched['id']}", headers=user.headers)
    assert (await response.json())["status"] == "Dispatched"


async def test_expired_password_reset_tokens_are_pruned_and_live_ones_kept(make_api: MakeApi, tmp_path: Path) -> None:
    api = await make_api(retention=PRUNE_OFTEN)
    auth_db = tmp_path / "data" / "auth.db"
    user = await api.register()
    for _ in range(2):
        response = await api.client.post("/api/auth/forgot-password", json={"email": user.email})
        assert response.status == 202
    await eventually(lambda: holds(count(auth_db, "password_resets") == 2), "two reset tokens stored")
    sql(auth_db, "UPDATE password_resets SET expires_at = 1 WHERE rowid = (SELECT MIN(rowid) FROM password_resets)")
    await eventually(lambda: holds(count(auth_db, "password_resets") == 1), "the expired token pruned")
