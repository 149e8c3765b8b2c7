"""Forgot password and reset, in the browser: the link on the login page, the request page
(the same answer for any email), the reset page the emailed link opens, and another browser
that was logged in before the reset finding itself logged out."""

from __future__ import annotations

import json

from tests.waiting import eventually, holds
from tests.web.conftest import OpenPage, Page, StartShop, expect, login, screenshot
from tests.webhooks import start_webhook_target


async def test_a_forgotten_password_is_reset_from_the_emailed_link(start_shop: StartShop, open_page: OpenPage) -> None:
    mailer = await start_webhook_target()
    try:
        shop = await start_shop(notifications={"webhooks": [mailer.url]})
        customer = await shop.register("Fay Forgetful")
        elsewhere: Page = await open_page(shop)  # another device, logged in before the reset
        await login(elsewhere, customer.email, customer.password)

        page = await open_page(shop)
        await page.goto("/#/login")
        await page.get_by_role("link", name="Forgot password?").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Forgot your password?")
        await page.get_by_label("Email").fill(customer.email)
        await page.get_by_role("button", name="Send reset instructions").click()
        done = page.locator("#forgot-done")
        await expect(done).to_contain_text("If an account exists for this email")
        await screenshot(page, "forgot-password")

        await eventually(lambda: holds(len(mailer.received) == 1), "the reset notification")
        token = json.loads(mailer.received[0].body)["data"]["reset_token"]
        await page.goto(f"/#/reset-password?token={token}")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Set a new password")
        new_password = page.get_by_label("New password")
        await new_password.fill("short")
        await page.get_by_role("button", name="Set new password").click()
        await expect(new_password).to_have_attribute("aria-invalid", "true")
        await new_password.fill("a-brand-new-password")
        await page.get_by_role("button", name="Set new password").click()
        await expect(page.locator("#notice")).to_have_text("Your password is changed. Log in with the new one.")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
        await login(page, customer.email, "a-brand-new-password")

        # The link works once.
        await page.get_by_role("button", name="Log out").click()
        await page.goto(f"/#/reset-password?token={token}")
        await page.get_by_label("New password").fill("yet-another-password")
        await page.get_by_role("button", name="Set new password").click()
        await expect(page.locator("#reset-error")).to_contain_text("already used or expired")

        # The other device's session was voided by the reset: its next call sends it to log in.
        await elsewhere.get_by_role("link", name="Orders").click()
        await expect(elsewhere.get_by_role("heading", level=1)).to_have_text("Log in")
        await expect(elsewhere.get_by_role("button", name="Log out")).to_have_count(0)
    finally:
        await mailer.server.close()
