"""The split deployment, as an operator runs it: every part its own `run.py --services ...`
process on loopback, Kafka (tansu) between orders and the dispatcher, the gateway in front.

A customer registers, orders and sees Dispatched on the SSE stream through the gateway;
products is killed, ordering answers 503 at once with nothing stored and no stock taken;
products comes back and ordering works again. Internal endpoints refuse calls without the
service credential. Every wait has a deadline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from shop.app import create_app
from shop.errors import Conflict
from shop.registry import SERVICE_TOKEN_HEADER, Registry
from shop.services.auth.client import AUTH
from shop.services.customers.client import CUSTOMERS
from shop.testing import free_port, variables
from tests.assertions import problem
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Api, make_config
from tests.kafka import bus_settings
from tests.processes import ShopProcess, start_shop
from tests.waiting import eventually, read_sse
from tests.webhooks import WebhookTarget, start_webhook_target

# What each process runs, as in deploy/split/: auth with customers (registration creates the
# profile in-process), products alone, orders with the dispatcher, and the gateway.
PROCESSES: dict[str, str] = {
    "auth": "auth,customers",
    "products": "products",
    "orders": "orders,dispatcher",
    "gateway": "gateway",
}
# Which process serves each service.
SERVED_BY = {"auth": "auth", "customers": "auth", "products": "products", "orders": "orders", "dispatcher": "orders"}
# A hang fails the test within this, rather than the test run.
REQUEST_DEADLINE = aiohttp.ClientTimeout(total=15)


@dataclass
class SplitShop:
    processes: dict[str, ShopProcess]
    env: dict[str, dict[str, str]]
    data: dict[str, Path]

    def url(self, process: str) -> str:
        return self.processes[process].url

    async def restart(self, process: str) -> None:
        old = self.processes[process]
        self.processes[process] = await start_shop(
            self.data[process],
            port=old.port,
            env=self.env[process],
            args=("--services", PROCESSES[process]),
            log_name=process,
        )


def environments(ports: Mapping[str, int], bus: Mapping[str, Any], warehouse: str) -> dict[str, dict[str, str]]:
    def services(*names: str) -> dict[str, Any]:
        return {"services": {name: {"url": f"http://127.0.0.1:{ports[SERVED_BY[name]]}"} for name in names}}

    return {
        "auth": {},
        "products": {},
        "orders": variables({"bus": bus, **services("products", "customers"), "dispatcher": {"webhooks": [warehouse]}}),
        # Products' url is the gateway's only way to it: once it is killed, nothing else answers.
        "gateway": variables(services(*SERVED_BY)),
    }


@asynccontextmanager
async def split_shop(tmp_path: Path, bus: Mapping[str, Any], warehouse: str) -> AsyncIterator[SplitShop]:
    ports = {process: free_port() for process in PROCESSES}
    env = environments(ports, bus, warehouse)
    data = {process: tmp_path / process / "data" for process in PROCESSES}
    async with AsyncExitStack() as stack:
        started = await asyncio.gather(
            *(
                start_shop(data[p], port=ports[p], env=env[p], args=("--services", PROCESSES[p]), log_name=p)
                for p in PROCESSES
            ),
            return_exceptions=True,
        )
        shop = SplitShop({}, env, data)
        for process, result in zip(PROCESSES, started, strict=True):
            if isinstance(result, ShopProcess):
                shop.processes[process] = result
        # Stops whichever process runs under that name at the end (a restarted one too).
        for process in shop.processes:
            stack.push_async_callback(lambda p=process: shop.processes[p].stop())
        failed = [r for r in started if isinstance(r, BaseException)]
        if failed:
            raise failed[0]
        yield shop


@pytest.fixture
async def warehouse() -> AsyncIterator[WebhookTarget]:
    target = await start_webhook_target()
    yield target
    await target.server.close()


async def json_of(response: aiohttp.ClientResponse, status: int = 200) -> Any:
    assert response.status == status, await response.text()
    return await response.json()


async def test_split_deployment_end_to_end(kafka_bootstrap: str, tmp_path: Path, warehouse: WebhookTarget) -> None:
    async with (
        split_shop(tmp_path, bus_settings(kafka_bootstrap), warehouse.url) as shop,
        aiohttp.ClientSession(shop.url("gateway"), timeout=REQUEST_DEADLINE) as http,
    ):
        async with http.post(
            "/api/auth/register", json={"name": "Split", "email": "split@example.com", "password": "password-123"}
        ) as response:
            customer = {"Authorization": "Bearer " + (await json_of(response, 201))["token"]}
        async with http.get("/api/products/1") as response:
            stock = (await json_of(response))["stock_quantity"]

        # -- order, and watch it become Dispatched through the gateway ------------------------
        async with http.get(
            "/api/orders/events", headers=customer, timeout=aiohttp.ClientTimeout(total=60, sock_read=None)
        ) as events:
            assert events.status == 200 and events.content_type == "text/event-stream"
            async with http.post(
                "/api/orders",
                json={"items": [{"product_id": 1, "quantity": 1}]},
                headers={**customer, "X-Request-ID": "split-order-1"},
            ) as response:
                order = await json_of(response, 201)
                assert response.headers["X-Request-ID"] == "split-order-1"
            dispatched = {"id": order["id"], "status": "Dispatched"}
            seen = await read_sse(events, lambda got: any(dispatched.items() <= e["data"].items() for e in got))
        assert [e["data"]["status"] for e in seen if e["data"]["id"] == order["id"]] == ["Created", "Dispatched"]
        assert warehouse.order_ids() == [order["id"]]
        async with http.get("/api/products/1") as response:
            assert (await json_of(response))["stock_quantity"] == stock - 1

        # -- products dies: ordering fails fast, storing nothing and taking no stock ---------
        await shop.processes["products"].kill()
        async with http.post(
            "/api/orders", json={"items": [{"product_id": 1, "quantity": 1}]}, headers=customer
        ) as response:
            body = await problem(response, 503)
            assert "products" in body["detail"]
        async with http.get("/api/orders", headers=customer) as response:
            assert [o["id"] for o in await json_of(response)] == [order["id"]]
        async with http.get("/api/products/1") as response:
            await problem(response, 503)  # the gateway's own answer: nothing listens there
        async with http.get("/ready") as response:
            assert "products" in (await problem(response, 503))["detail"]

        # -- products is back: the same stock, and ordering works again ---------------------
        await shop.restart("products")
        async with http.get("/api/products/1") as response:
            assert (await json_of(response))["stock_quantity"] == stock - 1
        async with http.post(
            "/api/orders", json={"items": [{"product_id": 1, "quantity": 2}]}, headers=customer
        ) as response:
            await json_of(response, 201)
        async with http.get("/api/products/1") as response:
            assert (await json_of(response))["stock_quantity"] == stock - 3

        # -- the registry sees every service where it runs ----------------------------------
        async with http.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}) as response:
            admin = {"Authorization": "Bearer " + (await json_of(response))["token"]}

        async def all_healthy() -> list[dict[str, Any]] | None:
            async with http.get("/api/registry", headers=admin) as response:
                entries: list[dict[str, Any]] = await json_of(response)
            return entries if all(e["healthy"] for e in entries) else None

        entries = await eventually(all_healthy, "every remote service to be healthy again")
        assert {e["name"]: e["location"] for e in entries} == {
            name: shop.url(process) for name, process in SERVED_BY.items()
        }
        async with http.get("/api/dispatcher/deliveries", headers=admin) as response:
            deliveries = await json_of(response)
        assert [d["status"] for d in deliveries if d["order_id"] == order["id"]] == ["delivered"]

        # -- internal endpoints: only with the service credential, never through the gateway -
        async with http.get(f"/internal/orders/{order['id']}") as response:
            assert response.status == 404
        async with aiohttp.ClientSession(timeout=REQUEST_DEADLINE) as direct:
            for url, method in (
                (f"{shop.url('orders')}/internal/orders/{order['id']}", "GET"),
                (f"{shop.url('products')}/internal/products/reservations", "POST"),
                (f"{shop.url('auth')}/internal/customers", "POST"),
            ):
                for headers in ({}, {SERVICE_TOKEN_HEADER: "not-the-token-" + "z" * 30}):
                    async with direct.request(method, url, json={}, headers={**customer, **headers}) as response:
                        await problem(response, 401)


# -- the dispatcher in a process of its own ----------------------------------------------------


@asynccontextmanager
async def served(app_cfg: Any, services: list[str], port: int | None = None) -> AsyncIterator[TestClient]:
    client = TestClient(TestServer(create_app(app_cfg, services), host="127.0.0.1", port=port))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


async def test_a_dispatcher_of_its_own_marks_orders_through_the_registry(kafka_bootstrap: str, tmp_path: Path) -> None:
    bus = bus_settings(kafka_bootstrap)
    shop_cfg = make_config(tmp_path / "shop", bus=bus)
    async with served(shop_cfg, ["auth", "customers", "products", "orders"]) as shop:
        url = str(shop.make_url("")).rstrip("/")
        dispatcher_cfg = make_config(tmp_path / "dispatcher", bus=bus, services={"orders": {"url": url}})
        async with served(dispatcher_cfg, ["dispatcher"]):
            api = Api(shop)
            user = await api.register()
            response = await shop.post(
                "/api/orders", json={"items": [{"product_id": 2, "quantity": 1}]}, headers=user.headers
            )
            order = await json_of(response, 201)

            async def dispatched() -> bool:
                got = await shop.get(f"/api/orders/{order['id']}", headers=user.headers)
                return (await json_of(got))["status"] == "Dispatched"

            await eventually(dispatched, "the order to be dispatched by the other process")
            final = await json_of(await shop.get(f"/api/orders/{order['id']}", headers=user.headers))
            assert (final["status"], final["updated_by"]) == ("Dispatched", "order-dispatcher")


async def test_the_timeline_and_the_watchdog_ask_a_dispatcher_of_its_own(kafka_bootstrap: str, tmp_path: Path) -> None:
    """What the dispatcher knows about an order (its webhook calls, why it fails) reaches the
    orders process's timeline and stuck-order list over HTTP."""
    bus = bus_settings(kafka_bootstrap)
    target = await start_webhook_target()
    target.status = 503
    dispatcher_port = free_port()  # each process names the other in its config
    dispatcher_url = f"http://127.0.0.1:{dispatcher_port}"
    shop_cfg = make_config(
        tmp_path / "shop",
        bus=bus,
        services={"dispatcher": {"url": dispatcher_url}},
        dispatcher={"stuck_after_seconds": 1.0},
    )
    try:
        async with served(shop_cfg, ["auth", "customers", "products", "orders"]) as shop:
            url = str(shop.make_url("")).rstrip("/")
            dispatcher_cfg = make_config(
                tmp_path / "dispatcher",
                bus=bus,
                services={"orders": {"url": url}},
                dispatcher={"webhooks": [target.url], "max_attempts": 1},
            )
            async with served(dispatcher_cfg, ["dispatcher"], port=dispatcher_port) as dispatcher:
                await _timeline_and_watchdog_across_processes(Api(shop), dispatcher, target)
    finally:
        await target.server.close()


async def _timeline_and_watchdog_across_processes(api: Api, dispatcher: TestClient, target: WebhookTarget) -> None:
    user, admin = await api.register(), await api.admin()
    response = await api.client.post(
        "/api/orders", json={"items": [{"product_id": 2, "quantity": 1}]}, headers=user.headers
    )
    order = await json_of(response, 201)

    async def stuck() -> list[dict[str, Any]]:
        return await json_of(await api.client.get("/api/orders/stuck", headers=admin.headers))

    [entry] = await eventually(stuck, "the order reported stuck by the orders process")
    assert entry["order_id"] == order["id"]
    assert entry["reason"].startswith(f"target failing: {target.url} (HTTP 503")

    async def timeline() -> dict[str, Any]:
        got = await api.client.get(f"/api/orders/{order['id']}/timeline", headers=user.headers)
        return await json_of(got)

    failed = await timeline()
    assert failed["deliveries_known"] is True
    calls = [e for e in failed["entries"] if e["kind"] == "delivery"]
    assert [(c["target"], c["status_code"], c["actor"]) for c in calls] == [(target.url, 503, "order-dispatcher")]
    assert any(e["kind"] == "watchdog" and "target failing" in e["cause"] for e in failed["entries"])

    # An admin retries the delivery at the dispatcher's own process; the order is dispatched.
    target.status = 200
    [delivery] = await json_of(await dispatcher.get("/api/dispatcher/deliveries", headers=admin.headers))
    retried = await dispatcher.post(f"/api/dispatcher/deliveries/{delivery['id']}/retry", headers=admin.headers)
    assert retried.status == 202

    async def dispatched() -> dict[str, Any] | None:
        body = await timeline()
        statuses = [(e["status"], e["actor"]) for e in body["entries"] if e["kind"] == "status"]
        return body if ("Dispatched", "order-dispatcher") in statuses else None

    final = await eventually(dispatched, "the timeline up to Dispatched")
    codes = [e["status_code"] for e in final["entries"] if e["kind"] == "delivery"]
    assert codes == [503, 200]

    async def no_longer_stuck() -> bool:
        return await stuck() == []

    await eventually(no_longer_stuck, "the watchdog to drop the dispatched order")


# -- a deleted customer, with orders in another process -----------------------------------------


async def test_orders_in_another_process_refuse_a_deleted_customer(tmp_path: Path) -> None:
    """Orders asks customers (remote here) whether the caller still exists, whatever the token says."""
    people_cfg = make_config(tmp_path / "people")
    async with served(people_cfg, ["auth", "customers", "products"]) as people:
        url = str(people.make_url("")).rstrip("/")
        remote = {name: {"url": url} for name in ("products", "customers")}
        orders_cfg = make_config(tmp_path / "orders", services=remote, dispatcher={"enabled": False})
        async with served(orders_cfg, ["orders"]) as orders:
            api = Api(people)
            admin, gone = await api.admin(), await api.register()
            order = {"items": [{"product_id": 1, "quantity": 1}]}
            await json_of(await orders.post("/api/orders", json=order, headers=gone.headers), 201)
            deleted = await people.delete(f"/api/customers/{gone.id}", headers=admin.headers)
            assert deleted.status == 204
            refused = await orders.post("/api/orders", json=order, headers=gone.headers)
            assert "no longer exists" in (await problem(refused, 401))["detail"]
            await json_of(await orders.post("/api/orders", json=order, headers=admin.headers), 201)


async def test_the_new_remote_calls_answer_as_the_local_ones(tmp_path: Path) -> None:
    """What customers asks auth (is this email an account's? an admin's login is kept) and
    what orders asks customers (does this customer exist?), over HTTP."""
    cfg = make_config(tmp_path / "people")
    async with served(cfg, ["auth", "customers"]) as people:
        api = Api(people)
        admin, ann = await api.admin(), await api.register()
        registry = Registry(cfg.internal.service_token, request_timeout=5)
        await registry.start()
        try:
            url = str(people.make_url("")).rstrip("/")
            registry.register_remote(AUTH, url)
            registry.register_remote(CUSTOMERS, url)
            auth, customers = registry.get(AUTH), registry.get(CUSTOMERS)
            assert await auth.email_taken(ann.email.upper()) and not await auth.email_taken("nobody@example.com")
            with pytest.raises(Conflict):
                await auth.remove_login(admin.id)
            assert await customers.exists(ann.id) and not await customers.exists(ann.id + 100)
        finally:
            await registry.close()
