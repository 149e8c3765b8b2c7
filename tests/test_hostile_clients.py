"""Regression tests for what a hostile client (schemathesis, issue 13) found: one test per
finding, fast, through the real app."""

from __future__ import annotations

import pytest

from tests.assertions import problem
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Api

ORDER = {"items": [{"product_id": 1, "quantity": 1}]}


# -- a deleted customer's token places no order ---------------------------------------------


async def test_a_deleted_customers_old_token_places_no_order(api: Api) -> None:
    admin = await api.admin()
    gone = await api.register()
    assert (await api.client.post("/api/orders", json=ORDER, headers=gone.headers)).status == 201
    stock = (await (await api.client.get("/api/products/1")).json())["stock_quantity"]
    deleted = await api.client.delete(f"/api/customers/{gone.id}", headers=admin.headers)
    assert deleted.status == 204

    refused = await api.client.post("/api/orders", json=ORDER, headers=gone.headers)
    assert "no longer exists" in (await problem(refused, 401))["detail"]
    keyed = {**gone.headers, "Idempotency-Key": "after-deletion"}
    await problem(await api.client.post("/api/orders", json=ORDER, headers=keyed), 401)
    # Nothing was reserved for the refused orders.
    assert (await (await api.client.get("/api/products/1")).json())["stock_quantity"] == stock


# -- administrators' accounts ----------------------------------------------------------------


async def test_the_last_admin_cannot_delete_their_own_account(api: Api) -> None:
    admin = await api.admin()
    refused = await api.client.delete(f"/api/customers/{admin.id}", headers=admin.headers)
    assert "administrator" in (await problem(refused, 409))["detail"]
    # Both halves are still there: the profile, and a login that works.
    assert (await api.client.get(f"/api/customers/{admin.id}", headers=admin.headers)).status == 200
    assert (await api.login(ADMIN_EMAIL, ADMIN_PASSWORD)).id == admin.id


async def test_a_profile_cannot_take_an_accounts_email(api: Api) -> None:
    admin = await api.admin()
    ann = await api.register("Ann")
    for email in (ann.email, ann.email.upper(), ADMIN_EMAIL):
        taken = await api.client.post("/api/customers", json={"name": "Copy", "email": email}, headers=admin.headers)
        await problem(taken, 409)
    walk_in = {"name": "Walk-in", "email": "walkin@example.com"}
    assert (await api.client.post("/api/customers", json=walk_in, headers=admin.headers)).status == 201
    await problem(await api.client.post("/api/customers", json=walk_in, headers=admin.headers), 409)
    listed = await (await api.client.get("/api/customers", headers=admin.headers)).json()
    assert sorted(c["email"] for c in listed) == sorted([ADMIN_EMAIL, ann.email, "walkin@example.com"])
