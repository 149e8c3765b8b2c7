"""The admin pages: products (price, stock, create, delete) and the service registry; and that a
customer cannot get to them."""

from __future__ import annotations

import pytest

from tests.test_bus_parked import WarehouseSaysNo
from tests.waiting import eventually
from tests.web.conftest import OpenPage, Page, Shop, StartShop, expect, login, login_admin, screenshot


async def test_admin_changes_a_price_and_the_catalogue_shows_it(page: Page, shop: Shop, open_page: OpenPage) -> None:
    await login_admin(page)
    await page.get_by_role("link", name="Admin", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Administration")
    await expect(page.locator(".admin-table tbody tr").first).to_be_visible()
    await screenshot(page, "admin-products")

    await page.get_by_role("link", name="Edit Laptop", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Edit Laptop")
    await page.get_by_label("Price").fill("1234.56")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.locator("#notice")).to_have_text("Laptop is saved.")

    laptop = await shop.call("GET", "/api/products/1")
    assert laptop["name"] == "Laptop" and laptop["price"] == 1234.56

    # A shopper (another browser, not logged in) sees the new price.
    shopper = await open_page(shop)
    await shopper.goto("/#/products?q=Laptop")
    card = shopper.locator(".product-card", has=shopper.get_by_role("link", name="Laptop", exact=True))
    await expect(card.locator(".price")).to_have_text("$1,234.56")
    await card.get_by_role("link", name="Laptop", exact=True).click()
    await expect(shopper.locator(".price-large")).to_have_text("$1,234.56")


async def test_admin_sets_stock_creates_and_deletes_a_product(page: Page, shop: Shop) -> None:
    await login_admin(page)
    await page.goto("/#/admin/products")
    await page.get_by_role("link", name="New product").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("New product")

    await page.get_by_role("button", name="Create product").click()  # empty: refused before sending
    await expect(page.locator("#product-error")).to_have_text("Please correct the marked fields.")
    await expect(page.get_by_label("Name")).to_have_attribute("aria-invalid", "true")

    await page.get_by_label("Name").fill("Travel Adapter")
    await page.get_by_label("SKU").fill("ADAPT-TRAVEL-1")
    await page.get_by_label("Price").fill("24.90")
    await page.get_by_label("Stock").fill("7")
    await page.get_by_label("Category").fill("Accessories")
    await page.get_by_label("Brand").fill("Voyage")
    await page.get_by_label("Specifications").fill("Plugs: EU, UK, US\nWeight: 90 g")
    await screenshot(page, "admin-product-form")
    await page.get_by_role("button", name="Create product").click()
    await expect(page.locator("#notice")).to_have_text("Travel Adapter is created.")

    [created] = await shop.call("GET", "/api/products", params={"q": "Travel Adapter"})
    assert created["price"] == 24.9 and created["stock_quantity"] == 7
    assert created["specifications"] == {"Plugs": "EU, UK, US", "Weight": "90 g"}

    # A duplicate SKU is refused with the server's reason, shown on the form.
    await page.get_by_role("link", name="New product").click()
    await page.get_by_label("Name").fill("Adapter Again")
    await page.get_by_label("SKU").fill("ADAPT-TRAVEL-1")
    await page.get_by_label("Price").fill("1")
    await page.get_by_role("button", name="Create product").click()
    await expect(page.locator("#product-error")).not_to_be_empty()
    await page.get_by_role("link", name="Cancel").click()

    await page.get_by_role("searchbox", name="Search products").fill("Travel Adapter")
    await page.get_by_role("searchbox", name="Search products").press("Enter")
    await expect(page.locator(".admin-table tbody tr")).to_have_count(1)  # the search has redrawn the table
    await page.get_by_label("Stock of Travel Adapter").fill("0")
    await page.get_by_label("Stock of Travel Adapter").press("Enter")
    await expect(page.locator("#notice")).to_have_text("Travel Adapter: stock is now 0.")
    assert (await shop.call("GET", f"/api/products/{created['id']}"))["stock_quantity"] == 0

    delete = page.get_by_role("button", name="Delete Travel Adapter")
    await delete.click()
    await page.get_by_role("button", name="Confirm: delete Travel Adapter").click()
    await expect(page.locator("#notice")).to_have_text("Travel Adapter is deleted.")
    async with shop.http.get(f"{shop.url}/api/products/{created['id']}") as answer:
        assert answer.status == 404


async def test_admin_sees_the_service_registry_with_health(page: Page, shop: Shop, open_page: OpenPage) -> None:
    await login_admin(page)
    await page.goto("/#/admin/registry")
    entries = await shop.call("GET", "/api/registry", await shop.token())
    rows = page.locator("tbody tr")
    await expect(rows).to_have_count(len(entries))
    for entry in entries:
        row = page.locator(f'tr[data-service="{entry["name"]}"]')
        await expect(row).to_contain_text("Healthy" if entry["healthy"] else "Down")
    await screenshot(page, "admin-registry")

    phone = await open_page(shop, phone=True)
    await login_admin(phone)
    await phone.goto("/#/admin/products")
    await expect(phone.locator(".admin-table tbody tr").first).to_be_visible()
    await screenshot(phone, "admin-products-phone")


async def test_a_customer_cannot_reach_the_admin_pages(page: Page, shop: Shop) -> None:
    customer = await shop.register("Carl Customer")
    await login(page, customer.email, customer.password)
    await expect(page.get_by_role("link", name="Admin", exact=True)).to_have_count(0)  # not offered
    for path in (
        "/#/admin",
        "/#/admin/products",
        "/#/admin/products/1",
        "/#/admin/registry",
        "/#/admin/deliveries",
        "/#/admin/attention",
    ):
        await page.goto(path)
        await expect(page.get_by_role("heading", level=1)).to_have_text("Administrators only")
        await expect(page.locator(".admin-table, .form-card")).to_have_count(0)
    # And the API refuses them whatever the page does.
    for path in ("/api/registry", "/api/customers"):
        async with shop.http.get(shop.url + path, headers={"Authorization": f"Bearer {customer.token}"}) as answer:
            assert answer.status == 403


async def test_a_guest_opening_an_admin_page_is_asked_to_log_in(page: Page) -> None:
    await page.goto("/#/admin/products")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    assert "next=%2Fadmin%2Fproducts" in page.url


async def test_admin_sees_a_stuck_order_with_its_reason_and_replays_its_parked_event(
    start_shop: StartShop, open_page: OpenPage, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse = WarehouseSaysNo(monkeypatch)
    shop = await start_shop(bus={"max_deliveries": 1}, dispatcher={"stuck_after_seconds": 0.2})
    customer = await shop.register("Stella Stuck")
    order = await shop.call("POST", "/api/orders", customer.token, json={"items": [{"product_id": 1, "quantity": 1}]})

    admin_token = await shop.token()
    await eventually(lambda: shop.call("GET", "/api/orders/stuck", admin_token), "the watchdog reporting the order")

    page = await open_page(shop)
    await login_admin(page)
    await page.goto("/#/admin/attention")
    stuck = page.locator(f'tr[data-order-id="{order["id"]}"]')
    await expect(stuck).to_contain_text("event parked: RuntimeError: the warehouse says no")
    parked = page.locator("tr[data-parked-id]")
    await expect(parked).to_have_count(1)
    await screenshot(page, "admin-attention")

    warehouse.failing = False
    await parked.get_by_role("button", name="Replay", exact=False).click()
    await expect(page.locator("#notice")).to_contain_text("was handled")
    await expect(parked).to_have_count(0)
