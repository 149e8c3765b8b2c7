"""Real processes for the benchmark: the shop (run.py), the baseline, tansu. Every child is
registered in one place so it is stopped on any exit, Ctrl-C included."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from shop.testing import LocalShop, free_port

REPO = Path(__file__).resolve().parent.parent
START_DEADLINE_SECONDS = 60.0
STOP_DEADLINE_SECONDS = 15.0
READY_POLL_SECONDS = 0.01
# A server is idle when it used less than this share of a core over a window: work queued
# by one scenario (logins waiting for the hash pool) must not slow down the next.
IDLE_CPU_SHARE = 0.05
IDLE_WINDOW_SECONDS = 1.0  # the shop's background loops poll every second: see them
IDLE_WINDOWS = 2  # consecutive quiet windows
IDLE_DEADLINE_SECONDS = 180.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# The embedded defaults (config.toml) except: loopback, a temporary data dir, known secrets and
# admin, and rate limits high enough that no limiter shapes a load of tens of thousands of
# requests per second (they would otherwise be what we measure).
BENCH_SHOP = LocalShop(
    jwt_secret="bench-jwt-secret-" + "b" * 40,
    admin_email="admin@bench.local",
    admin_password="bench-admin-password",
    service_token="bench-service-token-" + "s" * 30,
    rate_limit=100_000_000,
)


class Children:
    """Every process this run started; `stop_all` ends them (each by its own pid)."""

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen[bytes]] = []

    def add(self, proc: subprocess.Popen[bytes]) -> None:
        self._procs.append(proc)

    def stop_all(self) -> None:
        alive = [p for p in self._procs if p.poll() is None]
        for proc in alive:
            proc.send_signal(signal.SIGINT)  # aiohttp's run_app shuts down cleanly on SIGINT
        deadline = time.monotonic() + STOP_DEADLINE_SECONDS
        for proc in alive:
            try:
                proc.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs.clear()


CHILDREN = Children()


@dataclass
class Server:
    """A server process on a loopback port, with its start-up time and memory."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path
    started_at: float  # perf_counter() just before the process was spawned
    ready_seconds: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def memory(self) -> dict[str, int]:
        """VmRSS (now) and VmHWM (peak so far) of the process, in bytes."""
        values: dict[str, int] = {}
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    values[key] = int(rest.split()[0]) * 1024
        return {"rss": values["VmRSS"], "peak_rss": values["VmHWM"]}

    def cpu_seconds(self) -> float:
        """User + system CPU time the process (all its threads) has used so far."""
        with open(f"/proc/{self.proc.pid}/stat") as stat:
            # Fields after the command name, which is in parentheses and may hold spaces.
            fields = stat.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    async def wait_idle(self) -> float:
        """Wait until the process is idle; returns for how long it was still busy."""
        started = time.monotonic()
        before = self.cpu_seconds()
        quiet = 0
        while quiet < IDLE_WINDOWS and time.monotonic() - started < IDLE_DEADLINE_SECONDS:
            await asyncio.sleep(IDLE_WINDOW_SECONDS)
            now = self.cpu_seconds()
            quiet = quiet + 1 if now - before < IDLE_CPU_SHARE * IDLE_WINDOW_SECONDS else 0
            before = now
        # How long it stayed busy (to within a window), not counting the quiet windows.
        return max(time.monotonic() - started - quiet * IDLE_WINDOW_SECONDS, 0.0)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(STOP_DEADLINE_SECONDS)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


async def start_server(
    name: str,
    argv: list[str],
    *,
    work_dir: Path,
    env: Mapping[str, str] | None = None,
    port: int,
    ready_path: str,
    cwd: Path = REPO,
) -> Server:
    log_path = work_dir / f"{name}.log"
    with log_path.open("ab") as log:
        started_at = time.perf_counter()
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    CHILDREN.add(proc)
    server = Server(name, proc, port, log_path, started_at)
    server.ready_seconds = await _wait_ready(server, ready_path)
    return server


async def start_shop(
    name: str,
    work_dir: Path,
    *,
    log_level: str = "WARNING",
    env: Mapping[str, str] | None = None,
    shop_dir: Path = REPO,
) -> Server:
    """`shop_dir`: the checkout whose run.py to start (another one to compare versions)."""
    port = free_port()
    data_dir = work_dir / f"{name}-data"
    argv = [sys.executable, str(shop_dir / "run.py"), "--log-level", log_level]
    return await start_server(
        name,
        argv,
        work_dir=work_dir,
        env=BENCH_SHOP.environment(data_dir, port, env),
        port=port,
        ready_path="/ready",
        cwd=shop_dir,
    )


async def start_baseline(work_dir: Path) -> Server:
    port = free_port()
    argv = [sys.executable, str(REPO / "bench" / "baseline.py"), "--port", str(port)]
    server = await start_server("baseline", argv, work_dir=work_dir, port=port, ready_path="/")
    return server


async def _wait_ready(server: Server, path: str) -> float:
    """Seconds from spawning the process to its first 200 on `path`."""
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    timeout = aiohttp.ClientTimeout(total=2)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while True:
            if server.proc.poll() is not None:
                raise RuntimeError(f"{server.name} exited with {server.proc.returncode}:\n{server.log_tail()}")
            try:
                async with session.get(server.url + path) as response:
                    if response.status == 200:
                        return time.perf_counter() - server.started_at
            except (TimeoutError, aiohttp.ClientError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{server.name} not ready on {server.url}{path}:\n{server.log_tail()}")
            await asyncio.sleep(READY_POLL_SECONDS)
