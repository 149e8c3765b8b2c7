"""The operator's view of a running shop, at GET /api/status (admin) and printed by
`python run.py status`: versions, uptime, this process's databases (size, outbox backlog,
parked events, failed deliveries), stuck orders and the registry's view of every service.

The database figures are read from the files with a connection of their own (WAL lets it
read beside the shop's writer); they cover the services whose files are in this process's
data directory. Stuck orders come from the orders service wherever it runs.
"""

from __future__ import annotations

import asyncio
import platform
import sqlite3
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from shop.backup import DATABASES
from shop.config import ShopConfig
from shop.errors import ShopError
from shop.gateway.context import require_admin
from shop.jsonutil import json_response
from shop.openapi import operation
from shop.ops import REGISTRY
from shop.registry import Registry
from shop.services.orders.client import ORDERS
from shop.services.orders.watchdog import StuckOrder

STARTED_AT = web.AppKey("started_at", float)
STATUS_CONFIG = web.AppKey("status_config", ShopConfig)

# What a database's own tables say is waiting or wrong: (label, database, query).
BACKLOG_QUERIES = (
    ("outbox_backlog", "orders", "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL"),
    ("parked_events", "dispatcher", "SELECT COUNT(*) FROM parked_events"),
    ("failed_deliveries", "dispatcher", "SELECT COUNT(*) FROM deliveries WHERE status = 'failed'"),
)

routes = web.RouteTableDef()


class DatabaseStatus(BaseModel):
    name: str
    bytes: int  # the file and its write-ahead log
    schema_version: int


class ServiceStatus(BaseModel):
    name: str
    location: str
    healthy: bool
    checked_at: str


class ShopStatus(BaseModel):
    version: str
    python: str
    sqlite: str
    uptime_seconds: float
    databases: list[DatabaseStatus]
    outbox_backlog: int | None  # None: that database is not in this process's data directory
    parked_events: int | None
    failed_deliveries: int | None
    stuck_orders: list[StuckOrder] | None  # None: orders did not answer
    services: list[ServiceStatus]


def install(app: web.Application, cfg: ShopConfig) -> None:
    app[STARTED_AT] = time.monotonic()
    app[STATUS_CONFIG] = cfg
    app.add_routes(routes)


@routes.get("/api/status")
@operation(
    "The operator's view of this process",
    description="Versions, uptime, database sizes, outbox backlog, parked events, failed deliveries, "
    "stuck orders and every service's health. `python run.py status` prints it.",
    auth="admin",
    tags=["operations"],
    responses={200: ShopStatus},
)
async def status(request: web.Request) -> web.Response:
    require_admin(request)
    cfg, registry = request.app[STATUS_CONFIG], request.app[REGISTRY]
    databases, counts = await asyncio.to_thread(_read_databases, cfg.data.dir)
    return json_response(
        ShopStatus(
            version=_version(),
            python=platform.python_version(),
            sqlite=sqlite3.sqlite_version,
            uptime_seconds=round(time.monotonic() - request.app[STARTED_AT], 1),
            databases=databases,
            outbox_backlog=counts.get("outbox_backlog"),
            parked_events=counts.get("parked_events"),
            failed_deliveries=counts.get("failed_deliveries"),
            stuck_orders=await _stuck(registry),
            services=[
                ServiceStatus(name=e.name, location=e.location, healthy=e.healthy, checked_at=e.checked_at)
                for e in registry.entries()
            ],
        )
    )


async def _stuck(registry: Registry) -> list[StuckOrder] | None:
    try:
        return await registry.get(ORDERS).stuck()
    except (ShopError, RuntimeError):  # down, or not part of this deployment
        return None


def _version() -> str:
    try:
        return metadata.version("shop")
    except metadata.PackageNotFoundError:
        return "unknown"


def _read_databases(data_dir: Path) -> tuple[list[DatabaseStatus], dict[str, int]]:
    databases, counts = [], {}
    for name in DATABASES:
        path = data_dir / f"{name}.db"
        if not path.exists():
            continue
        wal = path.with_name(path.name + "-wal")
        size = path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            for label, database, query in BACKLOG_QUERIES:
                if database == name:
                    try:
                        counts[label] = int(conn.execute(query).fetchone()[0])
                    except sqlite3.OperationalError:  # an older schema without that table
                        pass
        finally:
            conn.close()
        databases.append(DatabaseStatus(name=name, bytes=size, schema_version=version))
    return databases, counts


def render(status: dict[str, Any]) -> str:
    """The status as `run.py status` prints it: one fact per line."""
    lines = [
        f"shop {status['version']} (Python {status['python']}, SQLite {status['sqlite']}),"
        f" up {_duration(status['uptime_seconds'])}",
        "databases:",
        *(f"  {d['name']:<11} {d['bytes'] / 1e6:8.2f} MB  schema {d['schema_version']}" for d in status["databases"]),
    ]
    for key, label in (
        ("outbox_backlog", "outbox backlog"),
        ("parked_events", "parked events"),
        ("failed_deliveries", "failed deliveries"),
    ):
        value = status[key]
        lines.append(f"{label}: {'not in this process' if value is None else value}")
    stuck = status["stuck_orders"]
    if stuck is None:
        lines.append("stuck orders: orders did not answer")
    else:
        lines.append(f"stuck orders: {len(stuck)}")
        lines += [f"  order {s['order_id']} (placed {s['created_at']}): {s['reason']}" for s in stuck]
    lines.append("services:")
    lines += [
        f"  {s['name']:<11} {'healthy' if s['healthy'] else 'DOWN':<8} {s['location']} (checked {s['checked_at']})"
        for s in status["services"]
    ]
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h {minutes}m {secs}s" if days else f"{hours}h {minutes}m {secs}s"
