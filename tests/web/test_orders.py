"""Checkout and live orders in the browser: placing an order (once, however often the button
fires), the reasons a checkout is refused, and statuses that change on the page, by SSE,
without a reload, even across a network drop.

Each test needs the orders endpoints (and some the dispatcher's): it is skipped, saying
which, on a build that does not serve them yet.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.waiting import eventually
from tests.web.conftest import (
    Customer,
    OpenPage,
    Page,
    Shop,
    StartShop,
    expect,
    login,
    login_admin,
    screenshot,
)
from tests.web.network import Link, Warehouse

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture
async def warehouse() -> AsyncIterator[Warehouse]:
    target = await Warehouse().start()
    yield target
    await target.stop()


async def held_shop(start_shop: StartShop, warehouse: Warehouse, **dispatcher: Any) -> Shop:
    """A shop whose dispatcher notifies `warehouse` and waits for it as long as a test needs."""
    return await start_shop(dispatcher={"webhooks": [warehouse.url], "request_timeout_seconds": 120.0, **dispatcher})


def cents(price: float) -> int:
    return round(price * 100)


async def eventually_status(shop: Shop, customer: Customer, order_id: int, status: str) -> None:
    async def reached() -> bool:
        return (await shop.call("GET", f"/api/orders/{order_id}", customer.token))["status"] == status

    await eventually(reached, f"order {order_id} to become {status}")


async def add_to_cart(page: Page, search: str, name: str) -> None:
    await page.goto(f"/#/products?q={search}")
    await page.get_by_role("button", name=f"Add {name} to cart", exact=True).click()
    await expect(page.locator("#notice")).to_have_text(f"Added {name} to your cart.")


async def test_a_new_customer_registers_searches_checks_out_and_watches_the_order_dispatch(
    start_shop: StartShop, warehouse: Warehouse, open_page: OpenPage
) -> None:
    shop = await held_shop(start_shop, warehouse)
    page = await open_page(shop)
    await page.goto("/")
    await page.get_by_role("link", name="Register").click()
    await page.get_by_label("Name").fill("Nora New")
    await page.get_by_label("Email").fill("nora@example.com")
    await page.get_by_label("Password").fill("a-long-enough-password")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("link", name="Nora New")).to_be_visible()

    # Search with the form, add two products.
    await page.get_by_label("Search", exact=True).fill("phone")
    await page.get_by_label("Search", exact=True).press("Enter")
    await page.get_by_role("button", name="Add Smartphone to cart", exact=True).click()
    await page.get_by_label("Search", exact=True).fill("keyboard")
    await page.get_by_label("Search", exact=True).press("Enter")
    await page.get_by_role("button", name="Add Mechanical Keyboard to cart", exact=True).click()
    await expect(page.locator(".nav-badge")).to_have_text("2")

    await page.get_by_role("link", name="Cart").click()
    await page.get_by_label("Quantity of Smartphone").fill("2")
    await page.get_by_label("Quantity of Smartphone").press("Tab")
    catalogue = {p["name"]: p for p in await shop.call("GET", "/api/products", params={"limit": "200"})}
    expected = 2 * cents(catalogue["Smartphone"]["price"]) + cents(catalogue["Mechanical Keyboard"]["price"])
    await expect(page.locator(".cart-total")).to_have_attribute("data-cents", str(expected))

    await page.evaluate("window.sameDocument = true")  # gone if anything reloads the page
    await page.get_by_role("button", name="Place order").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Order #\d+$"))
    order_id = int(page.url.rsplit("/", 1)[1])
    await expect(page.locator("#notice")).to_have_text(f"Thank you! Order #{order_id} is placed.")
    await expect(page.locator(".order-status .status")).to_have_text("Created")
    await expect(page.locator(".live")).to_have_text("Live")
    await expect(page.locator(".nav-badge")).to_have_count(0)  # the cart is emptied
    customer_token = await shop.token("nora@example.com", "a-long-enough-password")
    order = await shop.call("GET", f"/api/orders/{order_id}", customer_token)
    assert cents(order["total"]) == expected  # the page's total is the server's total
    await expect(page.locator(".order-total")).to_have_attribute("data-cents", str(expected))
    await screenshot(page, "order-created")

    # A second tab on the orders list watches too.
    orders_tab = await page.context.new_page()
    await orders_tab.goto("/#/orders")
    row = orders_tab.locator(f'[data-order-id="{order_id}"]')
    await expect(row.locator(".status")).to_have_text("Created")
    await expect(orders_tab.locator(".live")).to_have_text("Live")

    warehouse.open.set()  # the warehouse acknowledges: the dispatcher marks the order Dispatched
    await expect(page.locator(".order-status .status")).to_have_text("Dispatched")
    await expect(page.locator(".order-head")).not_to_contain_text("Cancel order")
    await expect(row.locator(".status")).to_have_text("Dispatched")
    assert await page.evaluate("window.sameDocument") is True
    await screenshot(page, "order-dispatched")
    await screenshot(orders_tab, "orders")

    phone = await open_page(shop, phone=True)
    await login(phone, "nora@example.com", "a-long-enough-password")
    await phone.goto("/#/orders")
    await expect(phone.locator(".order-row")).to_have_count(1)
    await screenshot(phone, "orders-phone")
    await phone.goto(f"/#/orders/{order_id}")
    await expect(phone.locator(".order-status .status")).to_have_text("Dispatched")
    await screenshot(phone, "order-phone")


async def test_a_double_clicked_checkout_makes_one_order(page: Page, shop: Shop) -> None:
    customer = await shop.register("Dora Double")
    await login(page, customer.email, customer.password)
    await add_to_cart(page, "Laptop", "Laptop")
    await page.goto("/#/cart")
    posts: list[str | None] = []
    page.on(
        "request",
        lambda r: (
            posts.append(r.headers.get("idempotency-key"))
            if r.method == "POST" and r.url.endswith("/api/orders")
            else None
        ),
    )

    await page.get_by_role("button", name="Place order").dblclick()
    await expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Order #\d+$"))
    orders = await shop.call("GET", "/api/orders", customer.token)
    assert len(orders) == 1
    assert posts and all(key is not None and UUID.match(key) for key in posts) and len(set(posts)) == 1


async def test_a_retry_after_a_lost_answer_sends_the_same_key_and_makes_one_order(page: Page, shop: Shop) -> None:
    customer = await shop.register("Rory Retry")
    await login(page, customer.email, customer.password)
    await add_to_cart(page, "Tablet", "Tablet")
    await page.goto("/#/cart")

    keys: list[str] = []

    async def lose_the_first_answer(route: Any) -> None:
        if route.request.method != "POST":
            await route.continue_()
            return
        keys.append(route.request.headers["idempotency-key"])
        if len(keys) == 1:
            answer = await route.fetch()  # the shop places the order...
            assert answer.status == 201
            await route.abort("connectionreset")  # ...but the answer never arrives
        else:
            await route.continue_()

    await page.route("**/api/orders", lose_the_first_answer)
    await page.get_by_role("button", name="Place order").click()
    await expect(page.locator("#alert")).to_contain_text("Trying again is safe: the order will not be placed twice.")
    await page.reload()  # even a reload keeps the checkout's key for the same cart
    await page.get_by_role("button", name="Place order").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Order #\d+$"))

    assert len(keys) == 2 and keys[0] == keys[1] and UUID.match(keys[0])
    orders = await shop.call("GET", "/api/orders", customer.token)
    assert [o["id"] for o in orders] == [int(page.url.rsplit("/", 1)[1])]


async def test_out_of_stock_shows_the_servers_reason_and_reserves_nothing(page: Page, shop: Shop) -> None:
    admin = await shop.token()
    lamp = await shop.call(
        "POST",
        "/api/products",
        admin,
        json={"name": "Limited Lamp", "price": 79.5, "sku": "LAMP-LTD", "stock_quantity": 2},
    )
    customer = await shop.register("Olga Out")
    await login(page, customer.email, customer.password)
    await add_to_cart(page, "Limited", "Limited Lamp")
    await page.goto("/#/cart")
    await page.get_by_label("Quantity of Limited Lamp").fill("3")
    await page.get_by_label("Quantity of Limited Lamp").press("Tab")
    await expect(page.locator(".cart-line")).to_contain_text("Only 2 in stock.")

    await page.get_by_role("button", name="Place order").click()
    alert = page.locator("#alert")
    async with shop.http.post(
        f"{shop.url}/api/orders",
        json={"items": [{"product_id": lamp["id"], "quantity": 3}]},
        headers={"Authorization": f"Bearer {customer.token}"},
    ) as answer:
        assert answer.status == 409
        detail = (await answer.json())["detail"]
    await expect(alert).to_contain_text(detail)
    await expect(alert).to_contain_text("Please change the quantity and try again.")
    assert await shop.call("GET", "/api/orders", customer.token) == []
    assert (await shop.call("GET", f"/api/products/{lamp['id']}"))["stock_quantity"] == 2

    await page.get_by_label("Quantity of Limited Lamp").fill("2")
    await page.get_by_label("Quantity of Limited Lamp").press("Tab")
    await page.get_by_role("button", name="Place order").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Order #\d+$"))


async def test_a_product_gone_since_the_cart_was_drawn_gives_a_clear_validation_message(page: Page, shop: Shop) -> None:
    admin = await shop.token()
    gone = await shop.call(
        "POST",
        "/api/products",
        admin,
        json={"name": "Vanishing Vase", "price": 12, "sku": "VASE-1", "stock_quantity": 5},
    )
    customer = await shop.register("Vera Vanish")
    await login(page, customer.email, customer.password)
    await add_to_cart(page, "Vanishing", "Vanishing Vase")
    await page.goto("/#/cart")
    await expect(page.locator(".cart-body")).not_to_have_attribute("aria-busy", "true")  # prices checked
    await expect(page.get_by_role("button", name="Place order")).to_be_enabled()
    await shop.call("DELETE", f"/api/products/{gone['id']}", admin)

    await page.get_by_role("button", name="Place order").click()
    await expect(page.locator("#alert")).to_contain_text("The order was not accepted:")
    assert await shop.call("GET", "/api/orders", customer.token) == []
    await page.reload()  # drawn again, the cart says which line is the problem
    await expect(page.locator(".cart-line")).to_contain_text("No longer sold — remove it to check out.")
    await expect(page.get_by_role("button", name="Place order")).to_be_disabled()


async def test_the_order_page_catches_up_after_a_network_drop(
    start_shop: StartShop, warehouse: Warehouse, open_page: OpenPage
) -> None:
    shop = await held_shop(start_shop, warehouse)
    customer = await shop.register("Liv Link")
    order = await shop.call("POST", "/api/orders", customer.token, json={"items": [{"product_id": 1, "quantity": 1}]})
    link = await Link(int(shop.url.rsplit(":", 1)[1])).start()
    try:
        page = await open_page(link.url)
        reconnects: list[dict[str, str]] = []
        page.on(
            "request",
            lambda r: reconnects.append(r.headers) if r.url.endswith(f"/api/orders/{order['id']}/events") else None,
        )
        await login(page, customer.email, customer.password)
        await page.goto(f"/#/orders/{order['id']}")
        await expect(page.locator(".order-status .status")).to_have_text("Created")
        await expect(page.locator(".live")).to_have_text("Live")
        await page.evaluate("window.sameDocument = true")

        link.cut()  # the network goes away...
        await expect(page.locator(".live")).to_have_text("Reconnecting…")
        warehouse.open.set()  # ...and while it is gone the order is dispatched
        await eventually_status(shop, customer, order["id"], "Dispatched")
        await expect(page.locator(".order-status .status")).to_have_text("Created")

        link.restore()
        await expect(page.locator(".order-status .status")).to_have_text("Dispatched")
        await expect(page.locator(".live")).to_have_text("Live")
        assert await page.evaluate("window.sameDocument") is True
        # Reconnects carried the token in the header and where the page had got to.
        assert reconnects[0].get("authorization", "").startswith("Bearer ")
        assert "last-event-id" not in reconnects[0]
        assert all(headers.get("last-event-id") for headers in reconnects[1:]) and len(reconnects) > 1
    finally:
        await link.stop()


async def test_an_admin_retries_a_failed_delivery(
    start_shop: StartShop, warehouse: Warehouse, open_page: OpenPage
) -> None:
    warehouse.status = 503  # the warehouse is down: one attempt, and the delivery is failed
    warehouse.open.set()
    shop = await held_shop(start_shop, warehouse, max_attempts=1)
    customer = await shop.register("Fred Failed")
    order = await shop.call("POST", "/api/orders", customer.token, json={"items": [{"product_id": 2, "quantity": 1}]})
    admin = await shop.token()
    [delivery] = await eventually(
        lambda: shop.call("GET", "/api/dispatcher/deliveries", admin, params={"status": "failed"}),
        "the delivery to fail",
    )

    page = await open_page(shop)
    await login_admin(page)
    await page.goto("/#/admin/products")
    await page.get_by_role("link", name="Deliveries").click()
    row = page.locator(f'tr[data-delivery-id="{delivery["id"]}"]')
    await expect(row).to_contain_text(f"#{order['id']}")
    await expect(row).to_contain_text("failed")
    await expect(row).to_contain_text(delivery["last_error"])
    await screenshot(page, "admin-deliveries")

    warehouse.status = 200  # back up
    await row.get_by_role("button", name=re.compile(r"^Retry delivery")).click()
    await expect(page.locator("#notice")).to_have_text(f"Delivery #{delivery['id']} is being retried.")
    await eventually_status(shop, customer, order["id"], "Dispatched")
    await page.get_by_role("button", name="Refresh").click()
    await expect(page.get_by_text("No failed deliveries. Every notification went through.")).to_be_visible()
    await page.get_by_label("Show").select_option("delivered")
    await expect(page.locator(f'tr[data-delivery-id="{delivery["id"]}"]')).to_contain_text("delivered")


async def test_the_order_page_shows_the_orders_history_and_follows_it(
    start_shop: StartShop, warehouse: Warehouse, open_page: OpenPage
) -> None:
    shop = await held_shop(start_shop, warehouse)  # the warehouse holds its answer until opened
    customer = await shop.register("Hana History")
    order = await shop.call("POST", "/api/orders", customer.token, json={"items": [{"product_id": 2, "quantity": 1}]})
    page = await open_page(shop)
    await login(page, customer.email, customer.password)
    await page.goto(f"/#/orders/{order['id']}")
    history = page.locator(".timeline")
    await expect(history.locator('[data-kind="status"]')).to_have_count(1)
    await expect(history.locator('[data-kind="status"]')).to_contain_text("Created: placed (you or the customer)")

    warehouse.open.set()
    await expect(page.locator(".order-status")).to_contain_text("Dispatched")
    await expect(history.locator('[data-kind="delivery"]')).to_contain_text(
        f"Notified {warehouse.url}: webhook: HTTP 200"
    )
    await expect(history.locator('[data-kind="status"]').last).to_contain_text(
        "Dispatched: every webhook target acknowledged (the dispatcher)"
    )
    await screenshot(page, "order-history")
