"""Prometheus metrics, one registry per app (no process-wide singletons).

A request only adds to plain tallies; prometheus_client turns them into its text format
when /metrics is read. Its own Counter and Histogram take a lock per observation and walk
the buckets in Python: several microseconds on every request, for a number read every few
seconds. Everything here runs on the event loop's thread, so the tallies need no lock.
"""

from __future__ import annotations

import bisect
import itertools
import time
from collections.abc import Awaitable, Callable, Iterator

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

REQUESTS = "shop_http_requests"  # exposed as shop_http_requests_total
DURATION = "shop_http_request_duration_seconds"
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
# prometheus_client.utils is unannotated; floatToGoString(float) -> str is its exposition format.
_BUCKET_LABELS = [floatToGoString(bound) for bound in (*BUCKETS, float("inf"))]  # type: ignore[no-untyped-call]


class _Requests:
    """One (method, route, status): its count, and the latency of the (method, route)."""

    __slots__ = ("count", "created", "latency")

    def __init__(self, latency: _Latency) -> None:
        self.count = 0
        self.created = time.time()
        self.latency = latency


class _Latency:
    __slots__ = ("buckets", "created", "total")

    def __init__(self) -> None:
        self.buckets = [0] * (len(BUCKETS) + 1)  # not cumulative; the last is +Inf
        self.created = time.time()
        self.total = 0.0


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._requests: dict[tuple[str, str, int], _Requests] = {}
        self._latency: dict[tuple[str, str], _Latency] = {}
        # Gauges read when /metrics is: name -> (help, probe, last value read).
        self._gauges: dict[str, tuple[str, Callable[[], Awaitable[float]]]] = {}
        self._gauge_values: dict[str, float] = {}
        self.registry.register(self)

    def gauge(self, name: str, help_text: str, probe: Callable[[], Awaitable[float]]) -> None:
        self._gauges[name] = (help_text, probe)

    async def refresh(self) -> None:
        """Read every gauge's probe (before render). A probe that fails keeps its last value."""
        for name, (_, probe) in self._gauges.items():
            try:
                self._gauge_values[name] = await probe()
            except Exception:  # a remote service down: the metric shows what was last known
                continue

    def observe(self, request: web.Request, status: int, seconds: float) -> None:
        route = _route_template(request)
        key = (request.method, route, status)
        series = self._requests.get(key)
        if series is None:
            latency = self._latency.setdefault((request.method, route), _Latency())
            series = self._requests[key] = _Requests(latency)
        series.count += 1
        latency = series.latency
        latency.buckets[bisect.bisect_left(BUCKETS, seconds)] += 1  # le: at most the bound
        latency.total += seconds

    def collect(self) -> Iterator[Metric]:
        """For prometheus_client: the same families its Counter and Histogram would give."""
        requests = CounterMetricFamily(REQUESTS, "HTTP requests", labels=["method", "route", "status"])
        for (method, route, status), series in self._requests.items():
            requests.add_metric([method, route, str(status)], series.count, created=series.created)
        yield requests
        duration = HistogramMetricFamily(DURATION, "HTTP request duration", labels=["method", "route"])
        for (method, route), latency in self._latency.items():
            cumulative = list(itertools.accumulate(latency.buckets))
            duration.add_metric([method, route], list(zip(_BUCKET_LABELS, cumulative, strict=True)), latency.total)
            duration.samples.append(Sample(f"{DURATION}_created", {"method": method, "route": route}, latency.created))
        yield duration
        for name, (help_text, _) in self._gauges.items():
            if name in self._gauge_values:
                yield GaugeMetricFamily(name, help_text, value=self._gauge_values[name])

    def render(self) -> web.Response:
        response = web.Response(body=generate_latest(self.registry))
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response


def _route_template(request: web.Request) -> str:
    # The template (/api/orders/{order_id}), not the path: one series per route, not per id.
    route = request.match_info.route
    resource = route.resource if route is not None else None
    return resource.canonical if resource is not None else "unmatched"
