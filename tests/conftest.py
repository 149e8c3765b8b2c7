"""Shared fixtures: every test builds the real app on its own temporary databases."""

from __future__ import annotations

import itertools
import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from shop.app import create_app
from shop.config import ShopConfig
from shop.testing import LocalShop
from tests.kafka import kafka_broker

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-password-for-tests"
JWT_SECRET = "test-secret-" + "x" * 40

# argon2's minimums: tests hash many passwords, and what they check does not depend on the cost.
CHEAP_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 8, "argon2_parallelism": 1}

# Limits high enough not to get in a test's way, the cheapest password hashing, and a
# dispatcher that retries almost at once: for apps in the test's process and run.py alike.
TEST_SHOP = LocalShop(
    jwt_secret=JWT_SECRET,
    admin_email=ADMIN_EMAIL,
    admin_password=ADMIN_PASSWORD,
    service_token="test-service-token-" + "y" * 30,
    rate_limit=10_000,
    defaults={
        "auth": CHEAP_ARGON2,
        "dispatcher": {"retry_base_seconds": 0.01},
    },
)

_emails = itertools.count(1)


def make_config(data_dir: Path, **sections: dict[str, Any]) -> ShopConfig:
    """The test shop's config on `data_dir`, with `sections` changed."""
    return TEST_SHOP.config(data_dir, **sections)


@pytest.fixture
def cfg(tmp_path: Path) -> ShopConfig:
    return make_config(tmp_path / "data")


@dataclass
class User:
    id: int
    email: str
    token: str
    password: str = "password-123"
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.headers = {"Authorization": f"Bearer {self.token}"}


class Api:
    """A test client that knows how to make users and call as them."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    async def register(self, name: str = "Test Customer", **fields: Any) -> User:
        email = fields.pop("email", None) or f"customer{next(_emails)}@example.com"
        password = fields.pop("password", "password-123")
        response = await self.client.post(
            "/api/auth/register", json={"name": name, "email": email, "password": password, **fields}
        )
        assert response.status == 201, await response.text()
        body = await response.json()
        return User(body["user"]["id"], email, body["token"], password)

    async def login(self, email: str, password: str) -> User:
        response = await self.client.post("/api/auth/login", json={"email": email, "password": password})
        assert response.status == 200, await response.text()
        body = await response.json()
        return User(body["user"]["id"], email, body["token"], password)

    async def admin(self) -> User:
        return await self.login(ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture
async def client(aiohttp_client: Callable[..., Awaitable[TestClient]], cfg: ShopConfig) -> TestClient:
    return await aiohttp_client(create_app(cfg))


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)


MakeApi = Callable[..., Awaitable[Api]]


@pytest.fixture
def make_api(aiohttp_client: Callable[..., Awaitable[TestClient]], tmp_path: Path) -> MakeApi:
    """An Api on an app built from make_config(**sections), for tests that need other
    limits or a split deployment: `await make_api(gateway={"rate_limit_burst": 3})`."""

    async def make(only: list[str] | None = None, data_dir: Path | None = None, **sections: dict[str, Any]) -> Api:
        # `only`: the services this process runs (create_app's `services`); the `services`
        # keyword is the config section that makes a service remote.
        cfg = make_config(data_dir or tmp_path / "data", **sections)
        return Api(await aiohttp_client(create_app(cfg, only)))

    return make


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address ("host:port") of a real Kafka-protocol broker for the session:
    SHOP_TEST_KAFKA if set, else tansu on a free loopback port (tests/kafka.py; skips
    when there is neither)."""
    yield from kafka_broker(tmp_path_factory.mktemp("kafka"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """In CI (SHOP_TEST_NO_SKIPS=1, set by .ci/run) a skipped test is a failed one: the Kafka
    and browser tests must really run there, not quietly step aside."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and os.environ.get("SHOP_TEST_NO_SKIPS") == "1":
        report.outcome = "failed"
        report.longrepr = f"skipped, and skips are not allowed in CI: {report.longrepr}"
