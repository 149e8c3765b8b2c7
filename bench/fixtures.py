"""The data the scenarios need, made through the public API as any client would: customers,
their orders, and stock that does not run out under load."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.processes import BENCH_SHOP

PASSWORD = "bench-password-123"
# The shop's largest allowed stock level: placing orders for minutes never runs it out.
PLENTY = 1_000_000_000


@dataclass(frozen=True)
class Customer:
    id: int
    email: str
    token: str

    @property
    def auth(self) -> tuple[tuple[str, str], ...]:
        return (("Authorization", f"Bearer {self.token}"),)

    @property
    def headers(self) -> dict[str, str]:
        return dict(self.auth)


class ShopClient:
    """A few calls against a running shop, raising on any unexpected status."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))

    async def close(self) -> None:
        await self._session.close()

    async def __aenter__(self) -> ShopClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def call(
        self, method: str, path: str, *, expect: int, json: Any = None, headers: dict[str, str] | None = None
    ) -> Any:
        async with self._session.request(method, self.base_url + path, json=json, headers=headers) as response:
            body = await response.json(content_type=None) if response.status != 204 else None
            if response.status != expect:
                raise RuntimeError(f"{method} {path}: expected {expect}, got {response.status}: {body}")
            return body

    async def register(self, label: str) -> Customer:
        email = f"{label}-{uuid.uuid4().hex[:12]}@bench.local"
        body = await self.call(
            "POST",
            "/api/auth/register",
            expect=201,
            json={"name": f"Bench {label}", "email": email, "password": PASSWORD},
        )
        return Customer(body["user"]["id"], email, body["token"])

    async def admin(self) -> Customer:
        body = await self.call(
            "POST",
            "/api/auth/login",
            expect=200,
            json={"email": BENCH_SHOP.admin_email, "password": BENCH_SHOP.admin_password},
        )
        return Customer(body["user"]["id"], BENCH_SHOP.admin_email, body["token"])

    async def stock_up(self, admin: Customer, product_ids: list[int]) -> None:
        for product_id in product_ids:
            await self.call(
                "PATCH",
                f"/api/products/{product_id}",
                expect=200,
                json={"stock_quantity": PLENTY},
                headers=admin.headers,
            )

    async def place_orders(self, customer: Customer, count: int, product_ids: list[int]) -> None:
        """`count` orders of one to three lines each, so listing them has lines to enrich."""
        for n in range(count):
            lines = [
                {"product_id": product_ids[(n + k) % len(product_ids)], "quantity": 1 + k} for k in range(1 + n % 3)
            ]
            await self.call("POST", "/api/orders", expect=201, json={"items": lines}, headers=customer.headers)
