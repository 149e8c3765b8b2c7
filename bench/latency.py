"""Order-to-Dispatched latency: orders arrive at a steady rate (open loop: one every
1/rate seconds whatever the answers do), and for each one we time from the moment its
POST returned 201 to the moment the customer's live stream (GET /api/orders/events, SSE)
shows it Dispatched. Also a tiny webhook receiver, for the dispatcher to notify."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from bench.fixtures import Customer

SETTLE_DEADLINE_SECONDS = 60.0


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class LatencyResult:
    rate: float
    seconds: float
    sent: int = 0
    created: int = 0
    dispatched: int = 0
    post_errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)  # 201 -> Dispatched
    post_ms: list[float] = field(default_factory=list)  # the POST itself

    @property
    def not_dispatched(self) -> int:
        return self.created - self.dispatched

    @property
    def errors(self) -> int:
        return self.post_errors + self.not_dispatched

    def as_dict(self) -> dict[str, object]:
        return {
            "rate_per_second": self.rate,
            "seconds": self.seconds,
            "orders_sent": self.sent,
            "orders_created": self.created,
            "orders_dispatched": self.dispatched,
            "post_errors": self.post_errors,
            "not_dispatched": self.not_dispatched,
            "dispatched_p50_ms": round(percentile(self.latencies_ms, 50), 2),
            "dispatched_p90_ms": round(percentile(self.latencies_ms, 90), 2),
            "dispatched_p99_ms": round(percentile(self.latencies_ms, 99), 2),
            "dispatched_max_ms": round(max(self.latencies_ms, default=0.0), 2),
            "post_p50_ms": round(percentile(self.post_ms, 50), 2),
            "post_p99_ms": round(percentile(self.post_ms, 99), 2),
        }


class StatusStream:
    """The customer's SSE stream, read in the background: when each order became Dispatched."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, customer: Customer) -> None:
        self._session = session
        self._url = base_url + "/api/orders/events"
        self._customer = customer
        self.dispatched_at: dict[int, float] = {}
        self.changed = asyncio.Event()
        self._open = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> StatusStream:
        self._task = asyncio.create_task(self._read())
        opened = asyncio.create_task(self._open.wait())
        done, _ = await asyncio.wait({self._task, opened}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        if opened not in done:
            opened.cancel()
            if self._task in done:
                self._task.result()  # raises what went wrong
            raise RuntimeError("the order status stream did not open")
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _read(self) -> None:
        headers = {**self._customer.headers, "Accept": "text/event-stream"}
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        async with self._session.get(self._url, headers=headers, timeout=timeout) as response:
            if response.status != 200:
                raise RuntimeError(f"GET /api/orders/events answered {response.status}")
            self._open.set()
            async for raw in response.content:
                line = raw.decode().rstrip("\r\n")
                if not line.startswith("data:"):
                    continue
                event = json.loads(line[5:])
                if event.get("status") == "Dispatched" and event["id"] not in self.dispatched_at:
                    self.dispatched_at[event["id"]] = time.perf_counter()
                    self.changed.set()


async def measure_dispatch(
    base_url: str,
    customer: Customer,
    *,
    rate: float,
    seconds: float,
    product_id: int,
) -> LatencyResult:
    result = LatencyResult(rate=rate, seconds=seconds)
    created_at: dict[int, float] = {}
    body = {"items": [{"product_id": product_id, "quantity": 1}]}
    run = uuid.uuid4().hex[:8]
    connector = aiohttp.TCPConnector(limit=0)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        StatusStream(session, base_url, customer) as stream,
    ):

        async def place(n: int) -> None:
            headers = {**customer.headers, "Idempotency-Key": f"latency-{run}-{n}"}
            sent = time.perf_counter()
            try:
                async with session.post(base_url + "/api/orders", json=body, headers=headers) as response:
                    answer = await response.json(content_type=None)
                    answered = time.perf_counter()
                    status = response.status
            except aiohttp.ClientError:
                result.post_errors += 1
                return
            if status != 201:
                result.post_errors += 1
                return
            created_at[answer["id"]] = answered
            result.post_ms.append((answered - sent) * 1000)

        count = max(1, round(rate * seconds))
        tasks = []
        start = time.perf_counter()
        for n in range(count):
            # Open loop: the n-th order leaves at start + n/rate, however the earlier ones fare.
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(place(n)))
        await asyncio.gather(*tasks)
        result.sent = count

        deadline = time.monotonic() + SETTLE_DEADLINE_SECONDS
        while any(order_id not in stream.dispatched_at for order_id in created_at) and time.monotonic() < deadline:
            stream.changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stream.changed.wait(), 1.0)

    result.created = len(created_at)
    for order_id, answered in created_at.items():
        dispatched = stream.dispatched_at.get(order_id)
        if dispatched is not None:
            result.dispatched += 1
            # The stream may be read before the POST's answer in the same loop turn: that
            # order was Dispatched no later than it was acknowledged, a latency of zero.
            result.latencies_ms.append(max(dispatched - answered, 0.0) * 1000)
    return result


async def wait_dispatched(base_url: str, customer: Customer, product_id: int, deadline_seconds: float) -> float:
    """Place one order and wait until it is Dispatched (a Kafka consumer needs a few seconds
    to join its group); returns how long that took."""
    result = await measure_dispatch(base_url, customer, rate=1.0, seconds=1.0, product_id=product_id)
    if result.dispatched != 1:
        raise RuntimeError(f"the warm-up order was not dispatched: {result.as_dict()}")
    return max(result.latencies_ms) / 1000


@dataclass
class WebhookReceiver:
    """Stands for the warehouse and shipping systems: answers every webhook 200 at once."""

    port: int = 0
    received: int = 0
    _runner: web.AppRunner | None = None

    def targets(self) -> list[str]:
        return [f"http://127.0.0.1:{self.port}/warehouse", f"http://127.0.0.1:{self.port}/shipping"]

    async def _hook(self, request: web.Request) -> web.Response:
        await request.read()
        self.received += 1
        return web.Response(status=204)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[WebhookReceiver]:
        app = web.Application()
        app.router.add_post("/{target}", self._hook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()  # port 0: a free one
        self.port = int(self._runner.addresses[0][1])
        try:
            yield self
        finally:
            await self._runner.cleanup()
