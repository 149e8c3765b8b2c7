"""The catalogue, the product page and the cart, as a shopper sees them in the browser."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import OpenPage, Page, Shop, expect, screenshot

CARD_TITLES = ".product-card-title"


async def names(shop: Shop, **query: Any) -> list[str]:
    """What the API lists for these filters: what the page must show."""
    params = {"limit": "12", **{key: str(value) for key, value in query.items()}}
    return [product["name"] for product in await shop.call("GET", "/api/products", params=params)]


async def test_the_page_is_served_with_a_strict_content_security_policy(page: Page) -> None:
    response = await page.goto("/")
    assert response is not None and response.status == 200
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["x-frame-options"] == "DENY"  # from the gateway
    await expect(page.locator(".product-card")).to_have_count(12)
    assert page.url.endswith("#/products")

    await page.goto("/#/no/such/page")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")


async def test_catalogue_searches_filters_sorts_and_pages(page: Page, shop: Shop, open_page: OpenPage) -> None:
    await page.goto("/#/products")
    total = len(await shop.call("GET", "/api/products", params={"limit": "200"}))
    await expect(page.locator(".results-summary")).to_have_text(f"{total} products")
    await expect(page.locator(CARD_TITLES)).to_have_text(await names(shop))
    await screenshot(page, "catalogue")

    # Paging: the second page holds the rest, and says where it is.
    await page.get_by_role("button", name="Next →").click()
    await expect(page.locator(".pager-status")).to_have_text(f"Page 2 of {-(-total // 12)}")
    await expect(page.locator(CARD_TITLES)).to_have_text(await names(shop, offset=12))

    # Search (Enter in the box) starts again at page 1.
    await page.get_by_label("Search", exact=True).fill("phone")
    await page.get_by_label("Search", exact=True).press("Enter")
    found = await names(shop, q="phone")
    assert "Smartphone" in found
    await expect(page.locator(CARD_TITLES)).to_have_text(found)
    await expect(page.locator(".results-summary")).to_contain_text("matching “phone”")

    # Category, brand, sort and the in-stock toggle each narrow or reorder the same list.
    await page.get_by_label("Search", exact=True).fill("")
    await page.get_by_label("Search", exact=True).press("Enter")
    await page.get_by_label("Category").select_option("Computers")
    await expect(page.locator(CARD_TITLES)).to_have_text(await names(shop, category="Computers"))
    await page.get_by_label("Sort by").select_option("-price")
    expected = await names(shop, category="Computers", sort="-price")
    await expect(page.locator(CARD_TITLES)).to_have_text(expected)
    await page.get_by_label("In stock only").check()
    await expect(page.locator(CARD_TITLES)).to_have_text(
        await names(shop, category="Computers", sort="-price", in_stock="true")
    )

    brand = (await shop.call("GET", "/api/products", params={"category": "Computers"}))[0]["brand"]
    await page.get_by_label("Brand").select_option(brand)
    await expect(page.locator(CARD_TITLES)).to_have_text(
        await names(shop, category="Computers", brand=brand, sort="-price", in_stock="true")
    )

    # The filters are in the URL: a reload (or a shared link) shows the same list.
    assert "category=Computers" in page.url and "sort=-price" in page.url
    await page.reload()
    await expect(page.get_by_label("Category")).to_have_value("Computers")
    await expect(page.get_by_label("Brand")).to_have_value(brand)
    await expect(page.get_by_label("In stock only")).to_be_checked()

    # Nothing matches: say so, and offer the way back.
    await page.get_by_label("Search", exact=True).fill("no such thing anywhere")
    await page.get_by_label("Search", exact=True).press("Enter")
    await expect(page.get_by_text("No products match these filters.")).to_be_visible()
    await page.get_by_role("button", name="Clear filters").click()
    await expect(page.locator(".results-summary")).to_have_text(f"{total} products")

    phone = await open_page(shop, phone=True)
    await phone.goto("/#/products")
    await expect(phone.locator(".product-card")).to_have_count(12)
    await screenshot(phone, "catalogue-phone")


async def test_product_page_shows_images_specifications_rating_and_reviews(
    page: Page, shop: Shop, open_page: OpenPage
) -> None:
    product = await shop.call("GET", "/api/products/1")
    await page.goto("/#/products")
    await page.get_by_role("link", name=product["name"], exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(product["name"])
    assert page.url.endswith("#/products/1")

    image = page.locator(".gallery-stage img")
    await expect(image).to_have_attribute("src", product["images"][0])
    assert await image.evaluate("img => img.complete && img.naturalWidth > 0")
    for key, value in product["specifications"].items():
        row = page.locator(".specs dt", has_text=key)
        await expect(row).to_have_count(1)
        await expect(row.locator("xpath=following-sibling::dd[1]")).to_have_text(value)
    await expect(
        page.get_by_role(
            "img", name=f"Rated {product['ratings']:.1f} out of 5, {len(product['reviews'])} reviews"
        ).first
    ).to_be_visible()
    await expect(page.locator(".review")).to_have_count(len(product["reviews"]))
    for review in product["reviews"]:
        await expect(page.locator(".review", has_text=review["user"])).to_contain_text(review["comment"])
    await screenshot(page, "product-detail")

    # Add to cart from here with a quantity: the badge counts it.
    await page.get_by_label("Quantity").fill("2")
    await page.get_by_role("button", name="Add to cart").click()
    await expect(page.locator("#notice")).to_have_text(f"Added 2 × {product['name']} to your cart.")
    await expect(page.locator(".nav-badge")).to_have_text("2")

    phone = await open_page(shop, phone=True)
    await phone.goto("/#/products/1")
    await expect(phone.get_by_role("heading", level=1)).to_have_text(product["name"])
    await screenshot(phone, "product-detail-phone")

    await page.goto("/#/products/999999")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Product not found")


async def test_cart_keeps_lines_across_reloads_and_totals_in_integer_cents(
    page: Page, shop: Shop, open_page: OpenPage
) -> None:
    # Prices whose float sum is not exact: 3 × 0.10 + 0.20 must show 0.50, from cents.
    admin = await shop.token()
    sticker = await shop.call(
        "POST",
        "/api/products",
        admin,
        json={"name": "Sticker", "price": 0.1, "sku": "STICKER-1", "stock_quantity": 50, "category": "Extras"},
    )
    pin = await shop.call(
        "POST",
        "/api/products",
        admin,
        json={"name": "Enamel Pin", "price": 0.2, "sku": "PIN-1", "stock_quantity": 50, "category": "Extras"},
    )

    await page.goto("/#/products?category=Extras")
    await page.get_by_role("button", name="Add Sticker to cart").click()
    await page.get_by_role("button", name="Add Enamel Pin to cart").click()
    await expect(page.locator(".nav-badge")).to_have_text("2")

    await page.get_by_role("link", name="Cart").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your cart")
    await page.get_by_label("Quantity of Sticker").fill("3")
    await page.get_by_label("Quantity of Sticker").press("Tab")
    line = page.locator(f'.cart-line[data-product-id="{sticker["id"]}"]')
    await expect(line.locator(".cart-line-total")).to_have_text("$0.30")
    await expect(page.locator(".cart-total")).to_have_text("$0.50")
    await expect(page.locator(".cart-total")).to_have_attribute("data-cents", "50")
    await expect(page.locator(".nav-badge")).to_have_text("4")
    # A guest is asked to log in rather than shown a button that cannot work.
    await expect(page.get_by_role("link", name="Log in to check out")).to_be_visible()

    await page.reload()
    await expect(page.get_by_label("Quantity of Sticker")).to_have_value("3")
    await expect(page.locator(".cart-total")).to_have_text("$0.50")

    # Price changes in the catalogue reach the cart before checkout.
    await shop.call("PATCH", f"/api/products/{pin['id']}", admin, json={"price": 1.05})
    await page.reload()
    await expect(page.locator(".cart-total")).to_have_text("$1.35")
    await screenshot(page, "cart")

    phone = await open_page(shop, phone=True)
    await phone.goto("/#/products?category=Extras")
    await phone.get_by_role("button", name="Add Sticker to cart").click()
    await phone.goto("/#/cart")
    await expect(phone.locator(".cart-total")).to_have_text("$0.10")
    await screenshot(phone, "cart-phone")

    await page.get_by_role("button", name="Remove Sticker").click()
    await expect(page.locator(".cart-line")).to_have_count(1)
    await expect(page.locator(".cart-total")).to_have_text("$1.05")
    await page.get_by_role("button", name="Remove Enamel Pin").click()
    await expect(page.get_by_text("Your cart is empty.")).to_be_visible()
    await expect(page.locator(".nav-badge")).to_have_count(0)


async def test_money_is_integer_cents_in_the_browser(page: Page) -> None:
    await page.goto("/")
    result = await page.evaluate(
        """async () => {
          const money = await import('/static/js/money.js');
          const lines = [
            {unitCents: money.toCents(0.1), quantity: 3, currency: 'USD'},
            {unitCents: money.toCents(0.2), quantity: 1, currency: 'USD'},
            {unitCents: money.toCents(19.99), quantity: 7, currency: 'USD'},
            {unitCents: money.toCents(0.29), quantity: 1, currency: 'EUR'},
          ];
          return {
            cents: [money.toCents(1234.56), money.toCents(0.29), money.toCents(1000000)],
            totals: Object.fromEntries(money.totalsByCurrency(lines)),
            text: money.formatCents(money.totalsByCurrency(lines).get('USD'), 'USD'),
            negative: money.centsToDecimal(-5),
          };
        }"""
    )
    assert result == {
        "cents": [123456, 29, 100000000],
        "totals": {"USD": 30 + 20 + 13993, "EUR": 29},
        "text": "$140.43",
        "negative": "-0.05",
    }


async def test_the_catalogue_works_from_the_keyboard(page: Page, shop: Shop) -> None:
    await page.goto("/#/products")
    await expect(page.locator(".product-card")).to_have_count(12)
    await page.keyboard.press("Tab")
    await expect(page.locator(".skip-link")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("#main")).to_be_focused()
    assert page.url.endswith("#/products")  # the skip link does not disturb the route

    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Search", exact=True)).to_be_focused()
    await page.keyboard.type("Smartwatch")
    await page.keyboard.press("Enter")
    await expect(page.locator(CARD_TITLES)).to_have_text(await names(shop, q="Smartwatch"))
    await page.get_by_role("button", name="Add Smartwatch to cart", exact=True).focus()
    await page.keyboard.press("Enter")
    await expect(page.locator(".nav-badge")).to_have_text("1")

    # Following a link moves focus to the new page's heading.
    await page.get_by_role("link", name="Smartwatch", exact=True).focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_be_focused()
