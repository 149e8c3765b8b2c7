"""Prometheus metrics, one registry per app (no process-wide singletons)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "shop_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "shop_http_request_duration_seconds",
            "HTTP request duration",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, request: web.Request, status: int, seconds: float) -> None:
        route = _route_template(request)
        key = (request.method, route, status)
        series = self._series.get(key)
        if series is None:
            # labels() takes a lock and builds its key on every call: look each series up once.
            series = (self.requests.labels(request.method, route, str(status)), self.latency.labels(request.method, route))
            self._series[key] = series
        series[0].inc()
        series[1].observe(seconds)

    def render(self) -> web.Response:
        response = web.Response(body=generate_latest(self.registry))
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response


def _route_template(request: web.Request) -> str:
    # The template (/api/orders/{order_id}), not the path: one series per route, not per id.
    route = request.match_info.route
    resource = route.resource if route is not None else None
    return resource.canonical if resource is not None else "unmatched"
