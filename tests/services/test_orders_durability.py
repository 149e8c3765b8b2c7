"""An order is answered only after the commit that stores it returned (synchronous=FULL:
after the write-ahead log was synced to disk), and orders that share a commit stay
all-or-nothing each."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from shop.app import create_app
from shop.config import ShopConfig
from shop.db import Database
from shop.ops import REGISTRY
from shop.services.orders.client import ORDERS, LocalOrdersClient
from shop.services.products.client import PRODUCTS, LocalProductsClient
from tests.conftest import Api, make_config
from tests.services.test_orders import place, product, set_stock
from tests.waiting import eventually, holds


@pytest.fixture
def cfg(tmp_path: Path) -> ShopConfig:
    return make_config(tmp_path / "data", dispatcher={"enabled": False})


@pytest.fixture
async def api(aiohttp_client: Callable[..., Awaitable[TestClient]], cfg: ShopConfig) -> Api:
    return Api(await aiohttp_client(create_app(cfg)))


def orders_db(api: Api) -> Database:
    # The test reaches through the registry's local client to the service's database.
    client = api.client.app[REGISTRY].get(ORDERS)
    assert isinstance(client, LocalOrdersClient)
    return client._orders.get().store.db


def products_db(api: Api) -> Database:
    client = api.client.app[REGISTRY].get(PRODUCTS)
    assert isinstance(client, LocalProductsClient)
    return client._stores.get().db


async def test_the_writer_syncs_every_commit(api: Api) -> None:
    for db in (orders_db(api), products_db(api)):
        assert await db.write(lambda conn: conn.execute("PRAGMA synchronous").fetchone()[0]) == 2  # FULL


async def test_an_order_is_answered_only_after_its_commit_returned(api: Api, cfg: ShopConfig) -> None:
    user = await api.register()
    order_written, commit_reached, finish_commit = threading.Event(), threading.Event(), threading.Event()

    def hold_the_orders_commit(sql: str) -> None:
        if sql.startswith("INSERT INTO orders "):
            order_written.set()
        elif sql == "COMMIT" and order_written.is_set():
            commit_reached.set()
            finish_commit.wait(10)

    await orders_db(api).write(lambda conn: conn.set_trace_callback(hold_the_orders_commit))
    placing = asyncio.create_task(place(api, user, {"items": [{"product_id": 2, "quantity": 1}]}))
    assert await asyncio.to_thread(commit_reached.wait, 10)
    await asyncio.sleep(0.1)
    assert not placing.done()  # the order is written, its COMMIT has not returned: no answer
    with sqlite3.connect(cfg.data.dir / "orders.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 0
    finish_commit.set()
    status, order = await placing
    assert status == 201, order
    with sqlite3.connect(cfg.data.dir / "orders.db") as conn:
        assert conn.execute("SELECT id FROM orders").fetchall() == [(order["id"],)]


async def test_orders_sharing_a_commit_are_each_all_or_nothing(api: Api) -> None:
    customers = [await api.register() for _ in range(6)]
    await set_stock(api, 5, 3)
    laptop = (await product(api, 1))["stock_quantity"]
    db = products_db(api)
    transactions: list[str] = []
    await db.write(lambda conn: conn.set_trace_callback(lambda sql: transactions.append(sql[:6])))
    entered, release = threading.Event(), threading.Event()

    def hold(conn: sqlite3.Connection) -> None:
        entered.set()
        release.wait(10)

    # Hold the products writer so that six reservations queue up and are taken together:
    # each wants a laptop and one of the three units of product 5.
    gate = asyncio.create_task(db.write(hold))
    assert await asyncio.to_thread(entered.wait, 10)
    recorded: list[str] = []  # each request records its reservation in orders, then asks products
    await orders_db(api).write(
        lambda conn: conn.set_trace_callback(lambda sql: recorded.append(sql) if "INTO reservations" in sql else None)
    )
    body = {"items": [{"product_id": 1, "quantity": 1}, {"product_id": 5, "quantity": 1}]}
    attempts = [asyncio.create_task(place(api, customer, body)) for customer in customers]
    await eventually(lambda: holds(len(recorded) == len(customers)), "every request to record its reservation")
    await asyncio.sleep(0.05)  # and to queue its reservation behind the gate
    transactions.clear()
    release.set()
    await gate
    statuses = sorted(status for status, _ in await asyncio.gather(*attempts))

    assert statuses == [201, 201, 201, 409, 409, 409]
    assert (await product(api, 5))["stock_quantity"] == 0
    # The failed orders took no laptop: their savepoints rolled back inside the shared commit.
    assert (await product(api, 1))["stock_quantity"] == laptop - 3
    assert transactions.count("COMMIT") < len(customers)  # commits were shared
