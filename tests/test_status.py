"""The operator's view: GET /api/status for an admin, and `run.py status` printing it for a
running shop."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from shop.services.orders.store import MIGRATIONS as ORDERS_MIGRATIONS
from tests.conftest import TEST_SHOP, MakeApi
from tests.processes import REPO, start_shop
from tests.services.test_orders import place
from tests.waiting import eventually

ORDER = {"items": [{"product_id": 1, "quantity": 1}]}


async def test_status_shows_databases_backlog_stuck_orders_and_services(make_api: MakeApi) -> None:
    api = await make_api(dispatcher={"stuck_after_seconds": 0.1}, bus={"relay_enabled": False})
    user, admin = await api.register(), await api.admin()
    _, order = await place(api, user, ORDER)

    async def status_with_stuck_order() -> dict | None:
        response = await api.client.get("/api/status", headers=admin.headers)
        assert response.status == 200, await response.text()
        body = await response.json()
        return body if body["stuck_orders"] else None

    status = await eventually(status_with_stuck_order, "the stuck order in the status")
    assert status["outbox_backlog"] == 1  # the relay is off: the order's event waits
    assert status["parked_events"] == 0 and status["failed_deliveries"] == 0
    assert [s["order_id"] for s in status["stuck_orders"]] == [order["id"]]
    databases = {d["name"]: d for d in status["databases"]}
    assert set(databases) == {"auth", "customers", "products", "orders", "dispatcher"}
    assert databases["orders"]["bytes"] > 0
    assert databases["orders"]["schema_version"] == len(ORDERS_MIGRATIONS)
    assert {s["name"]: s["healthy"] for s in status["services"]} == dict.fromkeys(databases, True)
    assert status["uptime_seconds"] >= 0 and status["version"]
    assert (await api.client.get("/api/status", headers=user.headers)).status == 403


async def test_run_py_status_prints_a_running_shops_state(tmp_path: Path) -> None:
    shop = await start_shop(tmp_path / "data")
    try:
        env = TEST_SHOP.environment(tmp_path / "data", shop.port)
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "run.py", "status"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        await shop.stop()
    assert result.returncode == 0, result.stderr
    for line in ("databases:", "orders", "outbox backlog: 0", "parked events: 0", "stuck orders: 0", "services:"):
        assert line in result.stdout
    assert "DOWN" not in result.stdout


def test_run_py_status_without_a_shop_says_so(tmp_path: Path) -> None:
    env = TEST_SHOP.environment(tmp_path / "data", 9)  # nothing listens on the discard port
    result = subprocess.run(
        [sys.executable, "run.py", "status"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2 and "no shop answers" in result.stderr and "Traceback" not in result.stderr
