"""Orders: placement, prices from the catalogue, stock under concurrency, idempotency,
authorization, cancellation. The dispatcher is off here so orders stay Created."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from shop.app import create_app
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Api, User, make_config
from tests.waiting import eventually, read_sse


@pytest.fixture
async def api(aiohttp_client: Callable[..., Awaitable[TestClient]], tmp_path: Path) -> Api:
    cfg = make_config(tmp_path / "data", dispatcher={"enabled": False})
    return Api(await aiohttp_client(create_app(cfg)))


async def product(api: Api, product_id: int) -> dict:
    response = await api.client.get(f"/api/products/{product_id}")
    assert response.status == 200
    return await response.json()


async def set_stock(api: Api, product_id: int, stock: int) -> None:
    admin = await api.admin()
    response = await api.client.patch(
        f"/api/products/{product_id}", json={"stock_quantity": stock}, headers=admin.headers
    )
    assert response.status == 200, await response.text()


async def place(api: Api, user: User, body: object, key: str | None = None) -> tuple[int, dict]:
    headers = dict(user.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    response = await api.client.post("/api/orders", json=body, headers=headers)
    return response.status, await response.json()


async def test_order_is_priced_from_the_catalogue_exactly(api: Api) -> None:
    user = await api.register()
    laptop, mouse = await product(api, 1), await product(api, 8)
    status, order = await place(
        api, user, {"items": [{"product_id": 1, "quantity": 1}, {"product_id": 8, "quantity": 3}]}
    )
    assert status == 201, order
    assert order["customer_id"] == user.id and order["status"] == "Created"
    lines = {line["product_id"]: line for line in order["items"]}
    assert lines[8]["unit_price"] == mouse["price"]
    assert lines[8]["line_total"] == round(mouse["price"] * 3, 2)
    cents = round(laptop["price"] * 100) + 3 * round(mouse["price"] * 100)
    assert round(order["total"] * 100) == cents
    assert order["currency"] == "USD"
    assert (await product(api, 8))["stock_quantity"] == mouse["stock_quantity"] - 3
    read_back = await api.client.get(f"/api/orders/{order['id']}", headers=user.headers)
    assert await read_back.json() == order  # placed or read, an order has one shape


async def test_money_is_summed_in_cents_not_floats(api: Api) -> None:
    admin, user = await api.admin(), await api.register()
    response = await api.client.patch("/api/products/2", json={"price": 0.1}, headers=admin.headers)
    assert response.status == 200, await response.text()
    response = await api.client.patch("/api/products/3", json={"price": 0.2}, headers=admin.headers)
    assert response.status == 200
    status, order = await place(
        api, user, {"items": [{"product_id": 2, "quantity": 1}, {"product_id": 3, "quantity": 1}]}
    )
    assert status == 201
    assert order["total"] == 0.3  # a float sum would give 0.30000000000000004


async def test_legacy_array_body_and_client_fields_have_no_effect(api: Api) -> None:
    user, other = await api.register(), await api.register()
    price = (await product(api, 5))["price"]
    body = [
        {
            "product_id": 5,
            "quantity": 2,
            "customer_id": other.id,
            "per_cost": 0.01,
            "total_cost": 0.02,
            "status": "Dispatched",
        }
    ]
    status, order = await place(api, user, body)
    assert status == 201, order
    assert order["customer_id"] == user.id
    assert order["status"] == "Created"
    assert order["items"][0]["unit_price"] == price
    assert order["total"] == round(price * 2, 2)


@pytest.mark.parametrize(
    "body, loc",
    [
        ({"items": [{"product_id": 9999, "quantity": 1}]}, ["items", 0, "product_id"]),
        ({"items": [{"product_id": 1, "quantity": 0}]}, ["items", 0, "quantity"]),
        ({"items": [{"product_id": 1, "quantity": -2}]}, ["items", 0, "quantity"]),
        ({"items": []}, ["items"]),
        ({"items": [{"product_id": 1, "quantity": 1}], "total": 1}, ["total"]),
        ({"items": [{"product_id": 1, "quantity": 1, "discount": 50}]}, ["items", 0, "discount"]),
        ([], ["items"]),
        ({"items": [{"product_id": True, "quantity": True}]}, ["items", 0, "product_id"]),
        ({"items": [{"product_id": "3", "quantity": 1}]}, ["items", 0, "product_id"]),
        ({"items": [{"product_id": 3, "quantity": 1.5}]}, ["items", 0, "quantity"]),
    ],
)
async def test_invalid_orders_are_422_and_reserve_nothing(api: Api, body: object, loc: list) -> None:
    user = await api.register()
    before = (await product(api, 1))["stock_quantity"]
    status, problem = await place(api, user, body)
    assert status == 422, problem
    assert loc in [error["loc"] for error in problem["errors"]]
    assert (await product(api, 1))["stock_quantity"] == before
    response = await api.client.get("/api/orders", headers=user.headers)
    assert await response.json() == []


async def test_malformed_json_is_400(api: Api) -> None:
    user = await api.register()
    response = await api.client.post(
        "/api/orders", data=b"{not json", headers={**user.headers, "Content-Type": "application/json"}
    )
    assert response.status == 400
    assert response.content_type == "application/problem+json"


async def test_anonymous_cannot_order(api: Api) -> None:
    response = await api.client.post("/api/orders", json={"items": [{"product_id": 1, "quantity": 1}]})
    assert response.status == 401


async def test_anonymous_requests_cannot_tell_which_order_ids_exist(api: Api) -> None:
    user = await api.register()
    _, order = await place(api, user, {"items": [{"product_id": 1, "quantity": 1}]})
    for order_id in (order["id"], 999_999):
        for method, path in (
            ("GET", f"/api/orders/{order_id}"),
            ("POST", f"/api/orders/{order_id}/cancel"),
            ("GET", f"/api/orders/{order_id}/events"),
        ):
            response = await api.client.request(method, path)
            assert response.status == 401, (method, path)


async def test_not_enough_stock_is_409_and_reserves_nothing(api: Api) -> None:
    user = await api.register()
    await set_stock(api, 4, 2)
    status, problem = await place(
        api, user, {"items": [{"product_id": 1, "quantity": 1}, {"product_id": 4, "quantity": 3}]}
    )
    assert status == 409, problem
    assert (await product(api, 4))["stock_quantity"] == 2
    laptop_before = (await product(api, 1))["stock_quantity"]
    assert laptop_before == (await product(api, 1))["stock_quantity"]


async def test_fifty_concurrent_orders_for_ten_units(api: Api) -> None:
    await set_stock(api, 6, 10)
    laptop_stock = (await product(api, 1))["stock_quantity"]
    customers = [await api.register() for _ in range(5)]
    attempts = [place(api, customers[i % 5], {"items": [{"product_id": 6, "quantity": 1}]}) for i in range(50)]
    results = await asyncio.gather(*attempts)
    statuses = sorted(status for status, _ in results)
    assert statuses.count(201) == 10
    assert statuses.count(409) == 40
    assert (await product(api, 6))["stock_quantity"] == 0
    assert (await product(api, 1))["stock_quantity"] == laptop_stock

    # Cancelling returns the stock, exactly once.
    created = next(order for status, order in results if status == 201)
    owner = next(c for c in customers if c.id == created["customer_id"])
    response = await api.client.post(f"/api/orders/{created['id']}/cancel", headers=owner.headers)
    assert response.status == 200
    assert (await response.json())["status"] == "Cancelled"
    assert (await product(api, 6))["stock_quantity"] == 1
    response = await api.client.post(f"/api/orders/{created['id']}/cancel", headers=owner.headers)
    assert response.status == 409
    assert (await product(api, 6))["stock_quantity"] == 1


async def test_idempotency_key_makes_retries_safe(api: Api) -> None:
    user, other = await api.register(), await api.register()
    stock = (await product(api, 7))["stock_quantity"]
    body = {"items": [{"product_id": 7, "quantity": 2}]}
    first_status, first = await place(api, user, body, key="checkout-1")
    again = await asyncio.gather(*(place(api, user, body, key="checkout-1") for _ in range(5)))
    assert first_status == 201
    assert all(status == 200 and order["id"] == first["id"] for status, order in again)
    assert (await product(api, 7))["stock_quantity"] == stock - 2

    status, problem = await place(api, user, {"items": [{"product_id": 7, "quantity": 3}]}, key="checkout-1")
    assert status == 409, problem
    assert (await product(api, 7))["stock_quantity"] == stock - 2

    # Keys belong to a customer: another customer's same key is another order.
    status, theirs = await place(api, other, body, key="checkout-1")
    assert status == 201 and theirs["id"] != first["id"]
    response = await api.client.get("/api/orders", headers=user.headers)
    assert [order["id"] for order in await response.json()] == [first["id"]]


async def test_concurrent_double_submit_with_one_key_makes_one_order(api: Api) -> None:
    user = await api.register()
    body = {"items": [{"product_id": 9, "quantity": 1}]}
    results = await asyncio.gather(*(place(api, user, body, key="double-click") for _ in range(10)))
    assert sorted(status for status, _ in results) == [200] * 9 + [201]
    assert len({order["id"] for _, order in results}) == 1


async def test_orders_are_visible_to_owner_and_admin_only(api: Api) -> None:
    alice, bob, admin = await api.register(), await api.register(), await api.admin()
    _, first = await place(api, alice, {"items": [{"product_id": 1, "quantity": 1}]})
    _, second = await place(api, alice, {"items": [{"product_id": 2, "quantity": 1}]})
    _, bobs = await place(api, bob, {"items": [{"product_id": 3, "quantity": 1}]})

    response = await api.client.get("/api/orders", headers=alice.headers)
    listed = await response.json()
    assert [o["id"] for o in listed] == [second["id"], first["id"]]  # newest first
    assert response.headers["X-Total-Count"] == "2"
    line = listed[0]["items"][0]
    assert line["name"] == (await product(api, 2))["name"]
    assert line["image"] == (await product(api, 2))["images"][0]

    for path in (f"/api/orders/{bobs['id']}", f"/api/orders/{bobs['id']}/events"):
        response = await api.client.get(path, headers=alice.headers)
        assert response.status == 404, path
    response = await api.client.post(f"/api/orders/{bobs['id']}/cancel", headers=alice.headers)
    assert response.status == 404
    response = await api.client.get(f"/api/orders/{bobs['id']}")
    assert response.status == 401

    response = await api.client.get(f"/api/orders/{bobs['id']}", headers=admin.headers)
    assert response.status == 200
    response = await api.client.get("/api/orders", headers=admin.headers)
    assert {o["id"] for o in await response.json()} >= {first["id"], second["id"], bobs["id"]}
    response = await api.client.get(f"/api/orders?customer_id={bob.id}", headers=admin.headers)
    assert [o["id"] for o in await response.json()] == [bobs["id"]]
    # A customer cannot widen the list with the admin's filter.
    response = await api.client.get(f"/api/orders?customer_id={bob.id}", headers=alice.headers)
    assert {o["id"] for o in await response.json()} == {first["id"], second["id"]}

    response = await api.client.post(f"/api/orders/{bobs['id']}/cancel", headers=admin.headers)
    assert response.status == 200
    assert (await response.json())["updated_by"] == f"admin:{admin.id}"


async def test_missing_order_is_404(api: Api) -> None:
    user = await api.register()
    for path in ("/api/orders/999999", "/api/orders/abc", "/api/orders/%C2%B2", "/api/orders/" + "9" * 30):
        response = await api.client.get(path, headers=user.headers)
        assert response.status == 404, path
    admin = await api.admin()
    for query in ("customer_id=%C2%B2", "customer_id=abc", "customer_id=" + "9" * 30):
        response = await api.client.get(f"/api/orders?{query}", headers=admin.headers)
        assert response.status == 422, query


async def test_order_lines_show_the_products_current_name_and_image(api: Api) -> None:
    user, admin = await api.register(), await api.admin()
    status, order = await place(api, user, {"items": [{"product_id": 3, "quantity": 1}]})
    assert status == 201
    listed = await (await api.client.get("/api/orders", headers=user.headers)).json()
    bought_as = listed[0]["items"][0]["name"]
    assert bought_as == (await product(api, 3))["name"]

    # More orders move the stock (and the catalogue's read caches) on; then the product is renamed.
    assert (await place(api, user, {"items": [{"product_id": 3, "quantity": 1}]}))[0] == 201
    image = "https://img.example.com/renamed.png"
    response = await api.client.patch(
        "/api/products/3", json={"name": "Renamed Tablet", "images": [image]}, headers=admin.headers
    )
    assert response.status == 200, await response.text()
    for path in ("/api/orders", f"/api/orders/{order['id']}"):
        body = await (await api.client.get(path, headers=user.headers)).json()
        lines = [line for o in (body if isinstance(body, list) else [body]) for line in o["items"]]
        assert {(line["name"], line["image"]) for line in lines} == {("Renamed Tablet", image)}, path


async def test_a_listed_page_shows_every_change_made_after_it_was_read(api: Api) -> None:
    user = await api.register()

    async def listed() -> list[tuple[int, str]]:
        response = await api.client.get("/api/orders", headers=user.headers)
        assert response.status == 200
        return [(order["id"], order["status"]) for order in await response.json()]

    _, first = await place(api, user, {"items": [{"product_id": 2, "quantity": 1}]})
    assert await listed() == await listed() == [(first["id"], "Created")]  # read twice: kept
    _, second = await place(api, user, {"items": [{"product_id": 2, "quantity": 1}]})
    assert await listed() == [(second["id"], "Created"), (first["id"], "Created")]
    response = await api.client.post(f"/api/orders/{first['id']}/cancel", headers=user.headers)
    assert response.status == 200
    assert await listed() == [(second["id"], "Created"), (first["id"], "Cancelled")]


async def test_a_stream_whose_client_left_before_its_headers_ends_quietly(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    # Sent, then gone at once: the handler's first write finds the connection closing. That is
    # the client's doing, not an error of the shop's (aiohttp logged a traceback for it).
    user = await api.register()
    server = api.client.server
    for _ in range(20):
        _, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(
            f"GET /api/orders/events HTTP/1.1\r\nHost: shop\r\nAuthorization: Bearer {user.token}\r\n\r\n".encode()
        )
        writer.close()
        await writer.wait_closed()

    async def streams_ended() -> bool:
        text = await (await api.client.get("/metrics")).text()
        lines = [line for line in text.splitlines() if line.startswith("shop_http_requests_total{")]
        return sum(float(line.rsplit(" ", 1)[1]) for line in lines if 'route="/api/orders/events"' in line) == 20

    await eventually(streams_ended, "the 20 streams to end")
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_an_order_stream_whose_client_left_ends_while_its_customer_keeps_ordering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An order's stream wakes at every change of its customer's orders and writes only its
    # own: it must still find out that its client left. Served as run.py serves (aiohttp does
    # not cancel a handler whose client left; the test server would).
    from shop.services.orders import routes as order_routes

    monkeypatch.setattr(order_routes, "KEEPALIVE_SECONDS", 0.5)
    # No dispatcher: it could dispatch the order before the test cancels it.
    runner = web.AppRunner(create_app(make_config(tmp_path / "data", dispatcher={"enabled": False})))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with aiohttp.ClientSession(base) as session:
            await _an_order_stream_left_while_ordering(session)
    finally:
        await runner.cleanup()


async def _an_order_stream_left_while_ordering(session: aiohttp.ClientSession) -> None:
    body = {"name": "Ann", "email": "ann@example.com", "password": "a-long-password"}
    async with session.post("/api/auth/register", json=body) as answer:
        headers = {"Authorization": f"Bearer {(await answer.json())['token']}"}
    login = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    async with session.post("/api/auth/login", json=login) as answer:
        admin = {"Authorization": f"Bearer {(await answer.json())['token']}"}
    async with session.patch("/api/products/2", json={"stock_quantity": 100_000}, headers=admin) as answer:
        assert answer.status == 200
    line = {"items": [{"product_id": 2, "quantity": 1}]}
    async with session.post("/api/orders", json=line, headers=headers) as answer:
        order = await answer.json()
    # Final: no event of its own will ever make the stream write again.
    async with session.post(f"/api/orders/{order['id']}/cancel", headers=headers) as answer:
        assert answer.status == 200
    stream = await session.get(f"/api/orders/{order['id']}/events", headers=headers)
    await read_sse(stream, lambda events: len(events) >= 1)
    stream.close()  # the client leaves

    async def stream_ended() -> bool:
        async with session.post("/api/orders", json=line, headers=headers) as answer:
            assert answer.status == 201  # each order wakes the stream, more often than the keep-alive
        async with session.get("/metrics") as answer:
            text = await answer.text()
        return any(
            line.startswith("shop_http_requests_total{") and 'route="/api/orders/{order_id}/events"' in line
            for line in text.splitlines()
        )

    await eventually(stream_ended, "the stream to end", timeout=5)
