"""`make longrun`: does the shop stop growing? N orders through a real shop process with
retention ages of seconds, and the memory, database files and bookkeeping tables sampled as
they go (bench/growth.py says what is looked at and how it is judged).

The shop runs as bench/run.py runs it (its own data directory, memory bus, dispatcher on,
synchronous = full), with two webhook targets so that every order makes deliveries, and
retention ages of seconds through bench/short_retention.py. Customers place orders with
Idempotency-Keys (a few sent twice), cancel some, and watch them on SSE streams that open
and close all the time.

    python bench/longrun.py                  # 200,000 orders (13 minutes on 2 shared cores)
    python bench/longrun.py --orders 20000   # a shorter trial
    python bench/longrun.py --judge FILE     # today's checks on a recorded run
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import signal
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp

# Run as a script (python bench/longrun.py): make the repository importable as it is for tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fixtures import Customer, ShopClient
from bench.growth import Limits, Sample, judge, render, row_counts
from bench.latency import WebhookReceiver
from bench.machine import Occasion
from bench.processes import BENCH_SHOP, CHILDREN, REPO, Server, free_port, start_server

PRODUCTS = [1, 2, 3, 4, 5]
RETENTION = {
    "idempotency_keys_seconds": 10,
    "handled_events_seconds": 10,
    "published_outbox_seconds": 10,
    "finished_deliveries_seconds": 10,
    "released_reservations_seconds": 10,
    "interval_seconds": 1.0,
}
WARMUP_ORDERS = 2000  # before the first sample: caches, pools and the WAL reach their size
UNPUBLISHED = (("orders", "unpublished", "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL"),)
CANCEL_EVERY = 10  # every tenth order is cancelled (if it is not Dispatched first)
RETRY_EVERY = 50  # every fiftieth order is sent twice with its key: the second gets the first
STREAM_SECONDS = 2.0  # the longest a watcher keeps a stream open
CATCH_UP_DEADLINE_SECONDS = 300.0
# The load waits while this many events are not yet published (the memory bus publishes an
# event once the dispatcher handled it): orders at the rate the shop dispatches them, so what
# is measured is the steady state, not a queue growing for as long as the run lasts.
BACKLOG_PAUSE = 1000
BACKLOG_RESUME = 300
BACKLOG_POLL_SECONDS = 0.25


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Place many orders with short retention ages: does the shop grow?")
    parser.add_argument("--orders", type=int, default=200_000, help="orders to place after the warm-up (200,000)")
    parser.add_argument("--samples", type=int, default=10, help="samples over the run (10)")
    parser.add_argument("--concurrency", type=int, default=48, help="orders in flight (48)")
    parser.add_argument("--customers", type=int, default=16, help="customers placing them (16)")
    parser.add_argument("--watchers", type=int, default=4, help="SSE streams open at a time (4)")
    parser.add_argument("--output", type=Path, help="JSON file (default bench-results/longrun-<time>.json)")
    parser.add_argument("--judge", type=Path, metavar="JSON", help="judge a recorded run again; run nothing")
    return parser.parse_args(argv)


def say(text: str) -> None:
    print(f"[longrun {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


@dataclass
class Tally:
    placed: int = 0
    replayed: int = 0
    cancelled: int = 0
    cancel_too_late: int = 0
    streams: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    recent: list[tuple[Customer, int]] = field(default_factory=list)  # for the watchers

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


class Load:
    """Orders placed by `concurrency` workers from a shared count, until `total`."""

    def __init__(self, url: str, customers: list[Customer], concurrency: int) -> None:
        self.url = url
        self.customers = customers
        self.concurrency = concurrency
        self.tally = Tally()
        self.run = uuid.uuid4().hex[:8]
        self._next = 0
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.paused_seconds = 0.0

    async def place(self, total: int, session: aiohttp.ClientSession) -> None:
        self._next = 0
        start = self.tally.placed
        await asyncio.gather(*(self._worker(session, start, total) for _ in range(self.concurrency)))

    async def pace(self, data_dir: Path) -> None:
        """Hold the workers while the outbox backlog is high; let them go once it is low."""
        paused_at = 0.0
        while True:
            backlog = (await asyncio.to_thread(row_counts, data_dir, UNPUBLISHED)).get("orders.unpublished", 0)
            if backlog >= BACKLOG_PAUSE and self.flowing.is_set():
                self.flowing.clear()
                paused_at = time.monotonic()
            elif backlog <= BACKLOG_RESUME and not self.flowing.is_set():
                self.flowing.set()
                self.paused_seconds += time.monotonic() - paused_at
            await asyncio.sleep(BACKLOG_POLL_SECONDS)

    async def _worker(self, session: aiohttp.ClientSession, start: int, total: int) -> None:
        while self._next < total:
            await self.flowing.wait()
            if self._next >= total:
                break
            n = start + self._next
            self._next += 1
            await self._one(session, n)

    async def _one(self, session: aiohttp.ClientSession, n: int) -> None:
        customer = self.customers[n % len(self.customers)]
        lines = [{"product_id": PRODUCTS[(n + k) % len(PRODUCTS)], "quantity": 1} for k in range(1 + n % 3)]
        headers = {**customer.headers, "Idempotency-Key": f"longrun-{self.run}-{n}"}
        for attempt in range(2 if n % RETRY_EVERY == 0 else 1):
            async with session.post(self.url + "/api/orders", json={"items": lines}, headers=headers) as response:
                body = await response.json(content_type=None)
                if response.status not in (201, 200) or (response.status == 200) != (attempt == 1):
                    self.tally.error(f"POST /api/orders {response.status}")
                    return
        self.tally.placed += 1
        self.tally.replayed += n % RETRY_EVERY == 0
        order_id = int(body["id"])
        self.tally.recent = [*self.tally.recent[-63:], (customer, order_id)]
        if n % CANCEL_EVERY == 0:
            async with session.post(f"{self.url}/api/orders/{order_id}/cancel", headers=customer.headers) as response:
                await response.read()
                if response.status == 200:
                    self.tally.cancelled += 1
                elif response.status == 409:  # Dispatched already
                    self.tally.cancel_too_late += 1
                else:
                    self.tally.error(f"cancel {response.status}")

    async def watch(self, session: aiohttp.ClientSession, stop: asyncio.Event) -> None:
        """Open a stream (an order's, or all of a customer's), read a little, close; again."""
        while not stop.is_set():
            if not self.tally.recent:
                await asyncio.sleep(0.1)
                continue
            customer, order_id = random.choice(self.tally.recent)
            path = f"/api/orders/{order_id}/events" if random.random() < 0.5 else "/api/orders/events"
            headers = {**customer.headers, "Accept": "text/event-stream"}
            timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
            try:
                async with (
                    asyncio.timeout(random.uniform(0.1, STREAM_SECONDS)),
                    session.get(self.url + path, headers=headers, timeout=timeout) as response,
                ):
                    if response.status != 200:
                        self.tally.error(f"GET {path.replace(str(order_id), '{id}')} {response.status}")
                        continue
                    self.tally.streams += 1
                    async for _ in response.content:
                        pass
            except TimeoutError:
                pass  # the client went away mid-stream: what the shop must clean up after


async def count_samples(server: Server, data_dir: Path, load: Load, started: float) -> Sample:
    # Off the loop: counting rows in a database of 200,000 orders takes a moment.
    return await asyncio.to_thread(
        Sample.take, load.tally.placed, time.monotonic() - started, server.proc.pid, data_dir
    )


async def settled(server: Server, data_dir: Path, load: Load, started: float) -> Sample:
    """Once the load stopped: wait until every order is dispatched or cancelled and retention
    has pruned what it can; the sample then."""
    deadline = time.monotonic() + CATCH_UP_DEADLINE_SECONDS
    wait = max(v for k, v in RETENTION.items() if k.endswith("_seconds")) + 3 * RETENTION["interval_seconds"]
    previous = None
    while time.monotonic() < deadline:
        await asyncio.sleep(wait)
        sample = await count_samples(server, data_dir, load, started)
        bookkeeping = {k: v for k, v in sample.rows.items() if k not in ("orders.orders", "orders.status_events")}
        if bookkeeping == previous:  # nothing left that retention will still remove
            return sample
        previous = bookkeeping
    return sample


async def longrun(args: argparse.Namespace, work_dir: Path) -> dict[str, Any]:
    occasion = Occasion()
    async with WebhookReceiver().running() as receiver:
        data_dir = work_dir / "shop-data"
        port = free_port()
        env = BENCH_SHOP.environment(
            data_dir,
            port,
            {"SHOP_DISPATCHER__WEBHOOKS": json.dumps(receiver.targets()), "BENCH_RETENTION": json.dumps(RETENTION)},
        )
        argv = [sys.executable, str(REPO / "bench" / "short_retention.py"), "--log-level", "WARNING"]
        server = await start_server("shop", argv, work_dir=work_dir, env=env, port=port, ready_path="/ready")
        try:
            async with ShopClient(server.url) as client:
                await client.stock_up(await client.admin(), PRODUCTS)
                customers = [await client.register(f"longrun-{i}") for i in range(args.customers)]
            load = Load(server.url, customers, args.concurrency)
            connector = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=connector) as session:
                pacer = asyncio.create_task(load.pace(data_dir))
                say(f"shop ready on {server.url}; warming up with {WARMUP_ORDERS:,} orders")
                await load.place(WARMUP_ORDERS, session)
                stop = asyncio.Event()
                watchers = [asyncio.create_task(load.watch(session, stop)) for _ in range(args.watchers)]
                try:
                    samples, final = await measure(args, server, data_dir, load, session)
                finally:
                    stop.set()
                    for task in [*watchers, pacer]:
                        task.cancel()
                    for task in [*watchers, pacer]:
                        with contextlib.suppress(asyncio.CancelledError):
                            await task
            checks = judge(samples, final, Limits())
        finally:
            server.stop()
    tally = load.tally
    return {
        **occasion.report(),
        "settings": {
            "orders": args.orders,
            "warmup_orders": WARMUP_ORDERS,
            "concurrency": args.concurrency,
            "customers": args.customers,
            "watchers": args.watchers,
            "retention": RETENTION,
            "webhook_targets": 2,
        },
        "load": {
            "placed": tally.placed,
            "replayed_with_their_key": tally.replayed,
            "cancelled": tally.cancelled,
            "cancel_after_dispatch": tally.cancel_too_late,
            "streams_opened": tally.streams,
            "errors": tally.errors,
            "orders_per_second": round(args.orders / (samples[-1].seconds or 1), 1),
            "paused_for_backlog_seconds": round(load.paused_seconds, 1),
            "webhooks_received": receiver.received,
        },
        "samples": [s.as_dict() for s in samples],
        "final": final.as_dict(),
        "checks": [c.as_dict() for c in checks],
        "ok": all(c.ok for c in checks) and not tally.errors,
        "_render": render(samples, final, checks),
    }


async def measure(
    args: argparse.Namespace, server: Server, data_dir: Path, load: Load, session: aiohttp.ClientSession
) -> tuple[list[Sample], Sample]:
    started = time.monotonic()
    samples = [await count_samples(server, data_dir, load, started)]
    step = max(args.orders // args.samples, 1)
    done = 0
    while done < args.orders:
        batch = min(step, args.orders - done)
        await load.place(batch, session)
        done += batch
        samples.append(await count_samples(server, data_dir, load, started))
        rate = batch / max(samples[-1].seconds - samples[-2].seconds, 1e-9)
        say(
            f"{done:,}/{args.orders:,} orders ({rate:.0f}/s), RSS {samples[-1].rss / 2**20:.1f} MB, "
            f"errors {sum(load.tally.errors.values())}"
        )
    say("load done; waiting for retention to catch up")
    return samples, await settled(server, data_dir, load, started)


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks that stop the shop


def judge_recorded(path: Path) -> int:
    """The checks of today's bench/growth.py on a run recorded earlier."""
    recorded = json.loads(path.read_text())
    samples = [Sample.from_dict(s) for s in recorded["samples"]]
    final = Sample.from_dict(recorded["final"])
    checks = judge(samples, final, Limits())
    print(render(samples, final, checks))
    ok = all(c.ok for c in checks) and not recorded["load"]["errors"]
    print("verdict: " + ("every check holds" if ok else "a check FAILED"))
    return 0 if ok else 1


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.judge:
        return judge_recorded(args.judge)
    signal.signal(signal.SIGTERM, _terminate)
    output = args.output or REPO / "bench-results" / f"longrun-{datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    with tempfile.TemporaryDirectory(prefix="shop-longrun-") as tmp:
        try:
            results = asyncio.run(longrun(args, Path(tmp)))
        except KeyboardInterrupt:
            print("\nlongrun: interrupted; shop stopped", file=sys.stderr)
            return 130
        except Exception:
            log = Path(tmp) / "shop.log"
            print(log.read_text(errors="replace")[-4000:] if log.exists() else "(no log)", file=sys.stderr)
            raise
        finally:
            CHILDREN.stop_all()
    table = results.pop("_render")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(table)
    load = results["load"]
    print(
        f"\n{load['placed']:,} orders at {load['orders_per_second']} a second, {load['cancelled']:,} cancelled, "
        f"{load['streams_opened']:,} streams opened, errors: {load['errors'] or 'none'}"
    )
    print(f"results: {output}")
    print("verdict: " + ("every check holds" if results["ok"] else "a check FAILED"))
    return 0 if results["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
