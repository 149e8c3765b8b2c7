"""Stock reservations, as the orders service uses them through the registry: the local
client in-process, and the remote client against products running in a second server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from shop.app import create_app
from shop.errors import Conflict, NotFound, OutOfStock, ValidationFailed
from shop.ops import REGISTRY
from shop.registry import SERVICE_TOKEN_HEADER
from shop.services.products.client import (
    PRODUCTS,
    LocalProductsClient,
    NotEnoughStock,
    ProductMissing,
    ProductsClient,
    RemoteProductsClient,
    StockLine,
)
from tests.conftest import Api, make_config

SERVICE_TOKEN = make_config(Path("unused")).internal.service_token


async def stock(api: Api, product_id: int) -> int:
    response = await api.client.get(f"/api/products/{product_id}")
    assert response.status == 200
    return int((await response.json())["stock_quantity"])


async def set_stock(api: Api, product_id: int, quantity: int) -> None:
    admin = await api.admin()
    response = await api.client.patch(
        f"/api/products/{product_id}", json={"stock_quantity": quantity}, headers=admin.headers
    )
    assert response.status == 200, await response.text()


class Products:
    """A products client and the public API that shows its effects."""

    def __init__(self, client: ProductsClient, api: Api) -> None:
        self.client = client
        self.api = api


@pytest.fixture(params=["local", "remote"])
async def products(
    request: pytest.FixtureRequest,
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    tmp_path: Path,
) -> AsyncIterator[Products]:
    if request.param == "local":
        test_client = await aiohttp_client(create_app(make_config(tmp_path / "data")))
        client = test_client.app[REGISTRY].get(PRODUCTS)
        assert isinstance(client, LocalProductsClient)
        yield Products(client, Api(test_client))
        return
    # Products in a server of its own on loopback (with auth, so tests can act as the admin);
    # the caller runs no service itself and reaches products over HTTP with the shared
    # service credential, as orders does in a split deployment.
    products_api = await aiohttp_client(
        create_app(make_config(tmp_path / "products"), services=["products", "auth", "customers"])
    )
    url = str(products_api.make_url(""))
    caller = await aiohttp_client(
        create_app(make_config(tmp_path / "caller", services={"products": {"url": url}}), services=[])
    )
    client = caller.app[REGISTRY].get(PRODUCTS)
    assert isinstance(client, RemoteProductsClient)
    yield Products(client, Api(products_api))


async def test_reserve_takes_stock_and_returns_the_products_after_it(products: Products) -> None:
    laptop, mouse = await stock(products.api, 1), await stock(products.api, 8)
    reserved = await products.client.reserve("order-1", [StockLine(1, 2), StockLine(8, 3)])
    assert [(p.id, p.name, p.stock_quantity) for p in reserved] == [
        (1, "Laptop", laptop - 2),
        (8, "Wireless Mouse", mouse - 3),
    ]
    assert reserved[0].price == 9998 and reserved[0].price_cents == 999800 and reserved[0].currency == "USD"
    assert await stock(products.api, 1) == laptop - 2
    assert await stock(products.api, 8) == mouse - 3


async def test_lines_for_the_same_product_are_summed(products: Products) -> None:
    before = await stock(products.api, 3)
    reserved = await products.client.reserve("order-2", [StockLine(3, 1), StockLine(5, 1), StockLine(3, 4)])
    assert [p.id for p in reserved] == [3, 5]
    assert reserved[0].stock_quantity == before - 5 == await stock(products.api, 3)
    await products.client.release("order-2")
    assert await stock(products.api, 3) == before


async def test_a_missing_product_reserves_nothing(products: Products) -> None:
    laptop = await stock(products.api, 1)
    with pytest.raises(NotFound) as raised:
        await products.client.reserve("order-3", [StockLine(1, 1), StockLine(999, 1)])
    assert isinstance(raised.value, ProductMissing) and raised.value.product_id == 999
    assert "999" in raised.value.detail
    assert await stock(products.api, 1) == laptop
    # Nothing was recorded either: the same reservation id works once the lines are right.
    reserved = await products.client.reserve("order-3", [StockLine(1, 1)])
    assert reserved[0].stock_quantity == laptop - 1


async def test_too_little_stock_on_one_line_reserves_nothing(products: Products) -> None:
    await set_stock(products.api, 4, 2)
    laptop = await stock(products.api, 1)
    with pytest.raises(OutOfStock) as raised:
        await products.client.reserve("order-4", [StockLine(1, 1), StockLine(4, 3)])
    error = raised.value
    assert isinstance(error, NotEnoughStock)
    assert (error.product_id, error.available, error.requested) == (4, 2, 3)
    assert await stock(products.api, 1) == laptop
    assert await stock(products.api, 4) == 2
    # Summed lines count against the stock as one request.
    with pytest.raises(OutOfStock):
        await products.client.reserve("order-5", [StockLine(4, 2), StockLine(4, 1)])
    assert await stock(products.api, 4) == 2
    await products.client.reserve("order-6", [StockLine(4, 1), StockLine(4, 1)])
    assert await stock(products.api, 4) == 0


async def test_a_retried_reserve_reserves_nothing_more(products: Products) -> None:
    before = await stock(products.api, 7)
    lines = [StockLine(7, 2), StockLine(9, 1)]
    first = await products.client.reserve("order-7", lines)
    admin = await products.api.admin()
    response = await products.api.client.patch("/api/products/7", json={"price": 1}, headers=admin.headers)
    assert response.status == 200
    again = await products.client.reserve("order-7", [StockLine(9, 1), StockLine(7, 1), StockLine(7, 1)])
    assert again == first  # the same products, at the price they had when reserved
    assert again[0].price == 249
    assert await stock(products.api, 7) == before - 2


async def test_a_reservation_id_reused_with_other_lines_is_a_conflict(products: Products) -> None:
    before = await stock(products.api, 7)
    await products.client.reserve("order-8", [StockLine(7, 2)])
    for other in ([StockLine(7, 3)], [StockLine(7, 2), StockLine(8, 1)], [StockLine(8, 2)]):
        with pytest.raises(Conflict) as raised:
            await products.client.reserve("order-8", other)
        assert not isinstance(raised.value, OutOfStock)
    assert await stock(products.api, 7) == before - 2


async def test_release_gives_back_exactly_once(products: Products) -> None:
    await products.client.reserve("order-9", [StockLine(10, 5)])
    await set_stock(products.api, 10, 1)  # the admin recounts meanwhile
    await products.client.release("order-9")
    assert await stock(products.api, 10) == 6
    await products.client.release("order-9")
    assert await stock(products.api, 10) == 6
    # A late retry of the released reservation does not take the stock again.
    await products.client.reserve("order-9", [StockLine(10, 5)])
    assert await stock(products.api, 10) == 6
    await products.client.release("order-9")
    assert await stock(products.api, 10) == 6


async def test_a_settled_reservation_is_never_given_back(products: Products) -> None:
    before = await stock(products.api, 2)
    await products.client.reserve("order-11", [StockLine(2, 2)])
    await products.client.reserve("order-12", [StockLine(2, 1)])
    await products.client.settle(["order-11", "never-reserved"])  # its order was dispatched
    await products.client.release("order-11")
    assert await stock(products.api, 2) == before - 3
    # A late retry still answers what the first call did, and takes nothing more.
    again = await products.client.reserve("order-11", [StockLine(2, 2)])
    assert again[0].stock_quantity == before - 2
    await products.client.release("order-12")  # one not settled is given back as before
    assert await stock(products.api, 2) == before - 2


async def test_releasing_an_unknown_reservation_does_nothing(products: Products) -> None:
    listing = await (await products.api.client.get("/api/products?limit=200")).json()
    await products.client.release("never-reserved")
    assert await (await products.api.client.get("/api/products?limit=200")).json() == listing


async def test_releasing_after_the_product_was_deleted(products: Products) -> None:
    await products.client.reserve("order-10", [StockLine(11, 1), StockLine(12, 1)])
    before = await stock(products.api, 12)
    admin = await products.api.admin()
    assert (await products.api.client.delete("/api/products/11", headers=admin.headers)).status == 204
    await products.client.release("order-10")
    assert await stock(products.api, 12) == before + 1


async def test_bad_reservations_are_rejected(products: Products) -> None:
    before = await stock(products.api, 1)
    for reservation_id, lines in [
        ("order-11", []),
        ("order-11", [StockLine(1, 0)]),
        ("order-11", [StockLine(1, -3)]),
        ("order-11", [StockLine(1, 10**12)]),
        ("", [StockLine(1, 1)]),
        ("../products", [StockLine(1, 1)]),
        ("a/b", [StockLine(1, 1)]),
        ("x" * 129, [StockLine(1, 1)]),
    ]:
        with pytest.raises(ValidationFailed):
            await products.client.reserve(reservation_id, lines)
    with pytest.raises(ValidationFailed):
        await products.client.release("../1")
    for product_id in (0, -1, 2**70):
        with pytest.raises(ProductMissing):
            await products.client.reserve("order-12", [StockLine(product_id, 1)])
    assert await stock(products.api, 1) == before


async def test_get_many_leaves_out_missing_ids(products: Products) -> None:
    found = await products.client.get_many([3, 1, 999, 1, 0, -5, 2**70])
    assert sorted(found) == [1, 3]
    assert found[1].name == "Laptop" and found[3].name == "Tablet"
    assert await products.client.get_many([]) == {}
    many = await products.client.get_many(range(1, 451))
    assert sorted(many) == list(range(1, 21))


async def test_fifty_concurrent_reservations_for_ten_units(products: Products) -> None:
    await set_stock(products.api, 6, 10)
    results = await asyncio.gather(
        *(products.client.reserve(f"race-{n}", [StockLine(6, 1)]) for n in range(50)),
        return_exceptions=True,
    )
    succeeded = [r for r in results if isinstance(r, list)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(succeeded) == 10
    assert len(refused) == 40 and all(isinstance(e, NotEnoughStock) for e in refused)
    # Each winner saw its own unit go: 9, 8, ... 0, never below zero.
    assert sorted(r[0].stock_quantity for r in succeeded) == list(range(10))
    assert await stock(products.api, 6) == 0
    await asyncio.gather(*(products.client.release(f"race-{n}") for n in range(50)))
    assert await stock(products.api, 6) == 10


# -- the internal routes themselves ----------------------------------------------------------------


async def test_internal_routes_need_the_service_credential(api: Api) -> None:
    body: dict[str, Any] = {"reservation_id": "x1", "lines": [{"product_id": 1, "quantity": 1}]}
    for method, path in [
        ("GET", "/internal/products?ids=1"),
        ("POST", "/internal/products/reservations"),
        ("DELETE", "/internal/products/reservations/x1"),
    ]:
        for headers in ({}, {SERVICE_TOKEN_HEADER: "wrong"}):
            response = await api.client.request(method, path, json=body if method == "POST" else None, headers=headers)
            assert response.status == 401, (method, path)
    assert await stock(api, 1) == 40
    good = {SERVICE_TOKEN_HEADER: SERVICE_TOKEN}
    response = await api.client.get("/internal/products?ids=2,1", headers=good)
    assert response.status == 200
    assert [p["id"] for p in await response.json()] == [1, 2]


async def test_internal_lookup_validates_ids(api: Api) -> None:
    good = {SERVICE_TOKEN_HEADER: SERVICE_TOKEN}
    for query in ("", "?ids=", "?ids=a,b", "?ids=1;2", "?ids=" + ",".join(["1"] * 501)):
        response = await api.client.get(f"/internal/products{query}", headers=good)
        assert response.status == 422, query


async def test_internal_routes_are_not_under_the_public_api(api: Api) -> None:
    good = {SERVICE_TOKEN_HEADER: SERVICE_TOKEN}
    response = await api.client.post(
        "/api/products/reservations",
        json={"reservation_id": "x", "lines": [{"product_id": 1, "quantity": 1}]},
        headers=good,
    )
    assert response.status == 405  # /api/products/{id} takes no POST; the service token opens nothing here
    assert await stock(api, 1) == 40
