"""Logging in and out, registering, the profile, and an expired session, in the browser."""

from __future__ import annotations

import time
import uuid

import jwt

from tests.conftest import JWT_SECRET
from tests.web.conftest import PASSWORD, Page, Shop, expect, login, screenshot


async def test_wrong_password_shows_the_servers_message_and_keeps_the_reader_on_the_form(
    page: Page, shop: Shop
) -> None:
    customer = await shop.register("Wendy Wrong")
    await page.goto("/#/login")
    # Keyboard only: type, Tab, type, Enter.
    await page.get_by_label("Email").focus()
    await page.keyboard.type(customer.email)
    await page.keyboard.press("Tab")
    await page.keyboard.type("not-the-password")
    await page.keyboard.press("Enter")

    alert = page.locator("#login-error")
    await expect(alert).to_have_attribute("role", "alert")  # announced by screen readers
    async with shop.http.post(
        f"{shop.url}/api/auth/login", json={"email": customer.email, "password": "nope-nope"}
    ) as answer:
        detail = (await answer.json())["detail"]
    await expect(alert).to_have_text(detail)
    await screenshot(page, "login-error")
    assert page.url.endswith("#/login")
    await expect(page.get_by_role("link", name="Log in")).to_be_visible()
    assert await page.evaluate("localStorage.getItem('shop.session.v1')") is None

    await page.get_by_label("Password").fill(customer.password)
    await page.get_by_label("Password").press("Enter")
    await expect(page.get_by_role("button", name="Log out")).to_be_visible()
    await expect(page.locator("#notice")).to_have_text("Welcome back, Wendy Wrong.")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Catalogue")


async def test_register_shows_field_errors_then_creates_the_account(page: Page, shop: Shop) -> None:
    await page.goto("/#/register")
    await page.get_by_label("Name").fill("Rita Register")
    await page.get_by_label("Email").fill("rita@example.com")
    await page.get_by_label("Password").fill("short")
    await page.get_by_role("button", name="Create account").click()
    password = page.get_by_label("Password")
    await expect(password).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#register-error")).not_to_be_empty()
    await expect(password).to_be_focused()
    # The error slot is the field's description, so it is read together with the field.
    described_by = await password.get_attribute("aria-describedby") or ""
    message = await page.locator(f"#{described_by.split()[-1]}").text_content()
    assert message

    await password.fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await expect(page.locator("#notice")).to_have_text("Welcome, Rita Register! Your account is ready.")
    await expect(page.get_by_role("link", name="Rita Register")).to_be_visible()

    # The same email again is refused with the server's reason.
    await page.get_by_role("button", name="Log out").click()
    await expect(page.locator("#notice")).to_have_text("You are logged out. Your cart is still here.")
    await page.goto("/#/register")
    await page.get_by_label("Name").fill("Rita Again")
    await page.get_by_label("Email").fill("rita@example.com")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await expect(page.locator("#register-error")).to_contain_text("Log in instead?")


async def test_profile_is_shown_and_edited(page: Page, shop: Shop) -> None:
    customer = await shop.register("Paula Profile")
    await login(page, customer.email, customer.password)
    await page.get_by_role("link", name="Paula Profile").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your profile")
    await expect(page.locator(".readonly")).to_have_text(customer.email)

    await page.get_by_label("City").fill("Lisbon")
    await page.get_by_label("Mobile").fill("+351 900 000 000")
    await page.get_by_label("Name").fill("Paula P.")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.locator("#notice")).to_have_text("Your profile is saved.")
    await expect(page.get_by_role("link", name="Paula P.")).to_be_visible()  # the nav follows

    me = await shop.call("GET", "/api/customers/me", customer.token)
    assert (me["name"], me["city"], me["mobile"]) == ("Paula P.", "Lisbon", "+351 900 000 000")
    await page.reload()
    await expect(page.get_by_label("City")).to_have_value("Lisbon")


def expired_token(user_id: int, email: str) -> str:
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "email": email,
        "role": "customer",
        "iat": now - 7200,
        "exp": now - 3600,
        "iss": "shop",
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


async def test_an_expired_token_leads_back_to_login_politely_and_keeps_the_cart(page: Page, shop: Shop) -> None:
    customer = await shop.register("Ernie Expired")
    await login(page, customer.email, customer.password)
    await page.goto("/#/products")
    await page.get_by_role("button", name="Add Laptop to cart").click()
    await expect(page.locator(".nav-badge")).to_have_text("1")

    # The server stops accepting the token (it expired) while the page still holds it.
    await page.evaluate(
        """token => {
          const session = JSON.parse(localStorage.getItem('shop.session.v1'));
          localStorage.setItem('shop.session.v1', JSON.stringify({...session, token}));
        }""",
        expired_token(customer.id, customer.email),
    )
    await page.goto("/#/profile")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    await expect(page.locator("#notice")).to_have_text(
        "Your session has expired. Please log in again — your cart is kept."
    )
    assert "next=%2Fprofile" in page.url
    await expect(page.locator(".nav-badge")).to_have_text("1")
    await expect(page.get_by_role("link", name="Log in")).to_be_visible()

    await page.get_by_label("Email").fill(customer.email)
    await page.get_by_label("Password").fill(customer.password)
    await page.get_by_label("Password").press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your profile")  # back where it was
    await expect(page.locator(".nav-badge")).to_have_text("1")


async def test_pages_that_need_a_login_ask_for_one(page: Page, shop: Shop) -> None:
    await page.goto("/#/profile")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    await expect(page.locator("#notice")).to_have_text("Please log in to continue.")


async def test_a_session_past_its_expiry_is_not_sent_and_leads_to_login(page: Page, shop: Shop) -> None:
    customer = await shop.register("Kim Clock")
    await login(page, customer.email, customer.password)
    await page.goto("/#/products")
    await page.get_by_role("button", name="Add Tablet to cart").click()
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "authorization" in r.headers else None)
    # expires_in has run out (the page keeps the time it was told at login).
    await page.evaluate(
        """() => {
          const session = JSON.parse(localStorage.getItem('shop.session.v1'));
          localStorage.setItem('shop.session.v1', JSON.stringify({...session, expiresAt: Date.now() - 1000}));
        }"""
    )
    await page.goto("/#/cart")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    await expect(page.locator("#notice")).to_have_text(
        "Your session has expired. Please log in again — your cart is kept."
    )
    assert "next=%2Fcart" in page.url
    await expect(page.locator(".nav-badge")).to_have_text("1")
    assert sent == []  # the stale token was never sent
