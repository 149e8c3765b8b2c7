"""Prometheus metrics, one set per app (no process-wide singletons).

A request only adds to plain tallies, written in Prometheus' text format (0.0.4) when
/metrics is read. prometheus_client's Counter and Histogram take a lock per observation and
walk the buckets in Python: several microseconds on every request, for a number read every
few seconds; and the package, imported only to write three families of lines, kept 1.2 MB
resident (it brings an HTTP and a WSGI server we never start). The tests read these lines
with prometheus_client's own parser. Everything here runs on the event loop's thread, so
the tallies need no lock.
"""

from __future__ import annotations

import bisect
import itertools
import math
import time
from collections.abc import Awaitable, Callable, Iterator

from aiohttp import web

REQUESTS = "shop_http_requests"  # exposed as shop_http_requests_total
DURATION = "shop_http_request_duration_seconds"
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


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
        self._requests: dict[tuple[str, str, int], _Requests] = {}
        self._latency: dict[tuple[str, str], _Latency] = {}
        # Gauges read when /metrics is: name -> (help, probe, last value read).
        self._gauges: dict[str, tuple[str, Callable[[], Awaitable[float]]]] = {}
        self._gauge_values: dict[str, float] = {}

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

    def lines(self) -> Iterator[str]:
        """Every family, laid out as prometheus_client writes its Counter, Histogram and
        Gauge in this format: a series' creation time is a gauge family of its own."""
        requests = {key: _labels(method=key[0], route=key[1], status=str(key[2])) for key in self._requests}
        yield from _family(f"{REQUESTS}_total", "HTTP requests", "counter")
        for key, series in self._requests.items():
            yield f"{REQUESTS}_total{requests[key]} {_number(series.count)}"
        yield from _family(f"{REQUESTS}_created", "HTTP requests", "gauge")
        for key, series in self._requests.items():
            yield f"{REQUESTS}_created{requests[key]} {_number(series.created)}"

        yield from _family(DURATION, "HTTP request duration", "histogram")
        for (method, route), latency in self._latency.items():
            for bound, count in zip(_BUCKET_BOUNDS, itertools.accumulate(latency.buckets), strict=True):
                yield f"{DURATION}_bucket{_labels(le=bound, method=method, route=route)} {_number(count)}"
            labels = _labels(method=method, route=route)
            yield f"{DURATION}_count{labels} {_number(sum(latency.buckets))}"
            yield f"{DURATION}_sum{labels} {_number(latency.total)}"
        yield from _family(f"{DURATION}_created", "HTTP request duration", "gauge")
        for (method, route), latency in self._latency.items():
            yield f"{DURATION}_created{_labels(method=method, route=route)} {_number(latency.created)}"

        for name, (help_text, _) in self._gauges.items():
            if name in self._gauge_values:
                yield from _family(name, help_text, "gauge")
                yield f"{name} {_number(self._gauge_values[name])}"

    def render(self) -> web.Response:
        response = web.Response(text="\n".join(self.lines()) + "\n")
        response.headers["Content-Type"] = CONTENT_TYPE
        return response


def _family(name: str, help_text: str, kind: str) -> Iterator[str]:
    yield f"# HELP {name} {_escaped(help_text, quotes=False)}"
    yield f"# TYPE {name} {kind}"


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{name}="{_escaped(value)}"' for name, value in labels.items()) + "}"


def _escaped(text: str, quotes: bool = True) -> str:
    text = text.replace("\\", "\\\\").replace("\n", "\\n")
    return text.replace('"', '\\"') if quotes else text


def _number(value: float) -> str:
    """As Go (and prometheus_client) write a float: 3.0, 0.0025, 1.5e-05, +Inf."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


_BUCKET_BOUNDS = [_number(bound) for bound in (*BUCKETS, math.inf)]


def _route_template(request: web.Request) -> str:
    # The template (/api/orders/{order_id}), not the path: one series per route, not per id.
    route = request.match_info.route
    resource = route.resource if route is not None else None
    return resource.canonical if resource is not None else "unmatched"
