"""Browser tests of the storefront: the real shop on a free loopback port, driven by Debian's
headless Chromium through Playwright's async API, in the same event loop as the server.

Playwright's own browser download (`playwright install`) is never used: the tests launch
/usr/bin/chromium and are skipped, with the command to install it, when it is missing.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, async_playwright, expect

from shop.app import create_app
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, make_config

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
WAIT_MS = 15_000  # how long an expectation may take; only a bug gets near it

expect.set_options(timeout=WAIT_MS)


@dataclass
class Shop:
    """The shop under test, served on a real port, with an HTTP client for set-up and checks."""

    url: str
    http: aiohttp.ClientSession

    async def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        async with self.http.request(method, self.url + path, headers=headers, **kwargs) as response:
            body = await response.json() if response.content_type.endswith("json") else None
            assert response.status < 400, f"{method} {path} -> {response.status}: {body}"
            return body

    async def token(self, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> str:
        body = await self.call("POST", "/api/auth/login", json={"email": email, "password": password})
        return str(body["token"])

    async def register(self, name: str = "Test Customer") -> Customer:
        email = f"{re.sub(r'[^a-z]+', '.', name.lower()).strip('.')}.{next_id()}@example.com"
        body = await self.call("POST", "/api/auth/register", json={"name": name, "email": email, "password": PASSWORD})
        return Customer(body["user"]["id"], name, email, body["token"])


PASSWORD = "correct-horse-battery"
_ids = iter(range(1, 1_000_000))


def next_id() -> int:
    return next(_ids)


@dataclass
class Customer:
    id: int
    name: str
    email: str
    token: str
    password: str = PASSWORD


@asynccontextmanager
async def serve(data_dir: Path, **sections: dict[str, Any]) -> AsyncIterator[Shop]:
    app = create_app(make_config(data_dir, **sections))
    runner = web.AppRunner(app, shutdown_timeout=5.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)  # a free port, never 8080
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        async with aiohttp.ClientSession() as http:
            yield Shop(f"http://{host}:{port}", http)
    finally:
        await runner.cleanup()


StartShop = Callable[..., Awaitable[Shop]]


@pytest.fixture
async def start_shop(tmp_path: Path) -> AsyncIterator[StartShop]:
    """start_shop(dispatcher={...}) for tests that need other settings; one shop per test."""
    stack: list[Any] = []

    async def start(**sections: dict[str, Any]) -> Shop:
        context = serve(tmp_path / "data", **sections)
        shop = await context.__aenter__()
        stack.append(context)
        return shop

    yield start
    for context in reversed(stack):
        await context.__aexit__(None, None, None)


@pytest.fixture
async def shop(start_shop: StartShop) -> Shop:
    return await start_shop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(
            f"Chromium is not installed at {CHROMIUM}; install it with `apt-get install chromium` "
            "to run the storefront's browser tests"
        )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Watch:
    """What a page did that a test should fail on: uncaught errors, console errors (CSP
    violations among them) and requests that left the shop's origin."""

    origin: str
    errors: list[str] = field(default_factory=list)
    offsite: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.on("console", self._console)
        page.on("request", self._request)

    def _console(self, message: Any) -> None:
        # The browser logs every non-2xx answer as "Failed to load resource"; the tests
        # provoke 401s and 409s on purpose and check what the page shows instead.
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.errors.append(f"console: {message.text}")

    def _request(self, request: Any) -> None:
        if not request.url.startswith(self.origin) and not request.url.startswith(("data:", "blob:")):
            self.offsite.append(request.url)

    def check(self) -> None:
        assert not self.offsite, f"the storefront fetched from elsewhere: {self.offsite}"
        assert not self.errors, f"the page reported errors: {self.errors}"


OpenPage = Callable[..., Awaitable[Page]]


@pytest.fixture
async def open_page(browser: Browser) -> AsyncIterator[OpenPage]:
    """open_page(shop_or_url, phone=False): a fresh browser context (own localStorage) on the
    shop. Every page is checked for script errors and offsite requests at the end."""
    watches: list[Watch] = []
    contexts: list[Any] = []

    async def open_(target: Shop | str, phone: bool = False) -> Page:
        base = target if isinstance(target, str) else target.url
        context = await browser.new_context(
            base_url=base,
            viewport=PHONE if phone else DESKTOP,
            is_mobile=phone,
            has_touch=phone,
            locale="en-US",
            timezone_id="UTC",
            service_workers="block",
        )
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        page = await context.new_page()
        watch = Watch(base)
        watch.attach(page)
        watches.append(watch)
        return page

    yield open_
    for context in contexts:
        await context.close()
    for watch in watches:
        watch.check()


@pytest.fixture
async def page(open_page: OpenPage, shop: Shop) -> Page:
    return await open_page(shop)


async def screenshot(page: Page, name: str) -> None:
    """Keep a picture of the page for people to look at (test-output/ is git-ignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.evaluate("window.scrollTo(0, 0)")  # else the sticky header lands mid-picture
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True, animations="disabled")


async def login(page: Page, email: str, password: str) -> None:
    """Log in through the form, with the keyboard only, and wait until the nav shows it."""
    await page.goto("/#/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_label("Password").press("Enter")
    await expect(page.get_by_role("button", name="Log out")).to_be_visible()


async def login_admin(page: Page) -> None:
    await login(page, ADMIN_EMAIL, ADMIN_PASSWORD)
