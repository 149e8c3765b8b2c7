"""Stuck orders for the operator, wherever orders runs: the shop_orders_stuck gauge on
/metrics and a line in /ready's details, both asked of the orders service through the
registry (in a split deployment the gateway asks the orders process)."""

from __future__ import annotations

from aiohttp import web

from shop.errors import ShopError
from shop.metrics import Metrics
from shop.ops import READINESS_DETAILS
from shop.registry import Registry
from shop.services.orders.client import ORDERS

STUCK_METRIC = "shop_orders_stuck"


def report_stuck_orders(app: web.Application, registry: Registry, metrics: Metrics, stuck_after_seconds: float) -> None:
    async def count() -> float:
        return float(len(await registry.get(ORDERS).stuck()))

    async def line() -> str | None:
        try:
            stuck = await registry.get(ORDERS).stuck()
        except ShopError:
            return None  # orders is down: its own readiness check says so
        if not stuck:
            return None
        return (
            f"{len(stuck)} order(s) still Created after {stuck_after_seconds:g} s, oldest {stuck[0].order_id}:"
            f" {stuck[0].reason} (see GET /api/orders/stuck)"
        )

    metrics.gauge(STUCK_METRIC, "Orders still Created after [dispatcher] stuck_after_seconds", count)
    app[READINESS_DETAILS]["stuck_orders"] = line
