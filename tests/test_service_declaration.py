"""A service is one declaration and one line in the list: the shop built with a sixth
service (tests/greetings.py) mounts it, forwards it from a gateway when it runs in another
process, describes it in the OpenAPI document, names it in /ready and limits its login
paths, with nothing but the declaration saying so."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from shop.app import create_app
from shop.config import ShopConfig
from shop.services.declared import SERVICES
from tests import greetings
from tests.conftest import make_config

DECLARED = (*SERVICES, greetings.SERVICE)
HELLO = "/api/greetings/hello"


@asynccontextmanager
async def served(cfg: ShopConfig, services: list[str] | None) -> AsyncIterator[TestClient]:
    client = TestClient(TestServer(create_app(cfg, services, DECLARED), host="127.0.0.1"))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


async def json_of(client: TestClient, path: str) -> Any:
    response = await client.get(path)
    assert response.status == 200, await response.text()
    return await response.json()


async def assert_described(client: TestClient) -> None:
    document = await json_of(client, "/api/openapi.json")
    hello = document["paths"][HELLO]["get"]
    assert hello["summary"] == "A greeting, read from the service's own database"
    assert hello["tags"] == ["greetings"]
    schema = hello["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Greeting"}
    # Under a service's prefix: the statuses reaching a service adds are documented.
    assert {"502", "503", "504"} <= set(hello["responses"])


async def test_a_declared_service_is_mounted_described_and_ready(
    aiohttp_client: Callable[..., Awaitable[TestClient]], tmp_path: Path
) -> None:
    client = await aiohttp_client(create_app(make_config(tmp_path / "data"), declared=DECLARED))
    assert await json_of(client, HELLO) == {"greeting": "Hello from the sixth service"}
    assert (tmp_path / "data" / "greetings.db").exists()
    await assert_described(client)
    ready = await json_of(client, "/ready")
    assert ready["checks"]["greetings"] is True


async def test_a_declared_service_in_another_process_is_forwarded_by_the_gateway(tmp_path: Path) -> None:
    async with served(make_config(tmp_path / "greetings"), ["greetings"]) as backend:
        url = str(backend.make_url("")).rstrip("/")
        gateway_cfg = make_config(tmp_path / "gateway", services={"greetings": {"url": url}})
        async with served(gateway_cfg, None) as gateway:
            assert await json_of(gateway, HELLO) == {"greeting": "Hello from the sixth service"}
            # Answered by the other process, from its database: the gateway has none.
            assert (tmp_path / "greetings" / "greetings.db").exists()
            assert not (tmp_path / "gateway" / "greetings.db").exists()
            await assert_described(gateway)
            ready = await json_of(gateway, "/ready")
            assert ready["checks"]["greetings"] is True


async def test_a_declared_login_path_is_limited_like_a_login(
    aiohttp_client: Callable[..., Awaitable[TestClient]], tmp_path: Path
) -> None:
    cfg = make_config(tmp_path / "data", gateway={"auth_rate_limit_per_minute": 1})
    client = await aiohttp_client(create_app(cfg, declared=DECLARED))
    assert (await client.post("/api/greetings/knock")).status == 204
    refused = await client.post("/api/greetings/knock")
    assert refused.status == 429
    assert (await client.get(HELLO)).status == 200  # the general budget is another one
