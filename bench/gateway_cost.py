"""What the gateway costs per request: server CPU µs for `GET /api/products/1` through the real
`create_app(cfg)`, with the access log on (INFO, one JSON line per request to a file) and off
(WARNING), next to a bare aiohttp app answering the same bytes (bench/baseline.py).

Small enough to run on a shared machine: the apps are built and served in this process, each
on its own event loop (uvloop, as run.py) in a thread; the load comes from a child process (a
blocking-socket client keeping a few keep-alive connections busy), so that no Python thread of
ours competes with the server for the GIL. Only the serving thread's CPU clock (user + system)
is read: the client's work is not in the figures, the kernel's work for the server's sockets
and log file is. Rounds of each scenario alternate, so a neighbour's load spreads over all of
them; the median round is reported.

    python bench/gateway_cost.py                          # this checkout
    python bench/gateway_cost.py --shop-dir /tmp/before   # another one (git archive <commit>)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PATH = "/api/products/1"
JWT_SECRET = "gateway-cost-jwt-secret-" + "j" * 32


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shop-dir", type=Path, default=REPO, help="the checkout whose shop package is measured")
    parser.add_argument("--requests", type=int, default=10_000, help="requests per round (10000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per scenario (5)")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections (16)")
    parser.add_argument("--log-file", type=Path, help="where the access log goes when on (default: a temporary file)")
    return parser.parse_args(argv)


@dataclass
class Scenario:
    name: str
    port: int
    log_level: str | None  # None: the baseline app, which has no logging of its own
    headers: str = ""
    samples: list[float] = field(default_factory=list)


class Server:
    """An aiohttp app served on loopback from a thread of its own, with its own loop."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._started = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.port = 0
        self._thread = threading.Thread(target=self._run, name="server", daemon=True)

    def start(self) -> None:
        self._thread.start()
        if not self._started.wait(60):
            raise RuntimeError("the server did not start within 60 s")

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)

    def cpu_seconds(self) -> float:
        assert self._thread.ident is not None
        return time.clock_gettime(time.pthread_getcpuclockid(self._thread.ident))

    def _run(self) -> None:
        loop = new_event_loop()
        self._loop = loop
        loop.run_until_complete(self._serve())
        loop.close()

    async def _serve(self) -> None:
        from aiohttp import web

        self._stop = asyncio.Event()
        runner = web.AppRunner(self._app, access_log=None)  # as run.py: our middleware logs
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = runner.addresses[0][1]
        self._started.set()
        await self._stop.wait()
        await runner.cleanup()


def new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class Client:
    """Keep-alive connections; each batch sends one request on every connection, then reads
    every answer, so the server sees several ready sockets per wake-up as under load."""

    def __init__(self, port: int, connections: int, request: bytes) -> None:
        self._request = request
        self._socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(connections)]
        for sock in self._socks:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffers = [b""] * connections

    def close(self) -> None:
        for sock in self._socks:
            sock.close()

    def run(self, count: int) -> None:
        done = 0
        while done < count:
            batch = min(len(self._socks), count - done)
            for sock in self._socks[:batch]:
                sock.sendall(self._request)
            for i in range(batch):
                self._read_response(i)
            done += batch

    def _read_response(self, i: int) -> None:
        sock, buf = self._socks[i], self._buffers[i]
        while (end := buf.find(b"\r\n\r\n")) < 0:
            buf += self._recv(sock)
        head = buf[:end].decode("latin-1")
        if not head.startswith("HTTP/1.1 200"):
            raise RuntimeError(f"unexpected answer: {head.splitlines()[0]}")
        length = next(
            int(line.split(":", 1)[1]) for line in head.split("\r\n") if line.lower().startswith("content-length:")
        )
        while len(buf) < end + 4 + length:
            buf += self._recv(sock)
        self._buffers[i] = buf[end + 4 + length :]

    @staticmethod
    def _recv(sock: socket.socket) -> bytes:
        data = sock.recv(65536)
        if not data:
            raise RuntimeError("the server closed the connection")
        return data


def client_main() -> int:
    """The child: per command line `port connections warmup count request-as-json`, connect,
    warm up, say "warm", wait for "go", send `count` requests, say "done"."""
    for command in sys.stdin:
        port, connections, warmup, count, request = command.split(" ", 4)
        client = Client(int(port), int(connections), json.loads(request).encode())
        try:
            client.run(int(warmup))
            print("warm", flush=True)
            sys.stdin.readline()
            client.run(int(count))
            print("done", flush=True)
        finally:
            client.close()
    return 0


class LoadProcess:
    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, __file__, "--client"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def run(self, port: int, connections: int, count: int, request: bytes, measured: Callable[[], float]) -> float:
        """Server CPU seconds (read with `measured`) spent on `count` requests."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        warmup = connections * 50  # caches, metric series, connections
        self._proc.stdin.write(f"{port} {connections} {warmup} {count} {json.dumps(request.decode())}\n")
        self._proc.stdin.flush()
        self._expect("warm")
        before = measured()
        self._proc.stdin.write("go\n")
        self._proc.stdin.flush()
        self._expect("done")
        return measured() - before

    def _expect(self, word: str) -> None:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline().strip()
        if line != word:
            raise RuntimeError(f"the load process failed (said {line!r}, exit {self._proc.poll()})")

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(30)


def shop_app(data_dir: Path) -> Any:
    from shop.app import create_app
    from shop.config import ShopConfig

    cfg = ShopConfig.model_validate(
        {
            "data": {"dir": str(data_dir)},
            "auth": {"jwt_secret": JWT_SECRET},
            # Out of the way, as in `make bench`: the limiter's work is measured, not its 429s.
            "gateway": {"rate_limit_per_second": 1e8, "rate_limit_burst": 10**8, "auth_rate_limit_per_minute": 10**8},
        }
    )
    return create_app(cfg)


def a_token() -> str:
    """A customer's token signed with the shop's secret, as auth would issue it."""
    import uuid

    import jwt

    now = int(time.time())
    claims = {
        "sub": "1",
        "email": "bench@example.com",
        "role": "customer",
        "iat": now,
        "exp": now + 3600,
        "iss": "shop",
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


def configure_logging(level: str, stream: Any) -> None:
    """shop.logs.configure_logging, with the access log going to `stream` instead of stderr
    (run.py's stderr is what a deployment sends to a file)."""
    from shop.logs import JsonFormatter, quiet_noisy_loggers

    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in root.handlers:
        old.close()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet_noisy_loggers()


def request_bytes(headers: str) -> bytes:
    return f"GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode()


def measure(scenario: Scenario, args: argparse.Namespace, server: Server, load: LoadProcess, log_stream: Any) -> float:
    if scenario.log_level is not None:
        configure_logging(scenario.log_level, log_stream)
    used = load.run(scenario.port, args.connections, args.requests, request_bytes(scenario.headers), server.cpu_seconds)
    return used / args.requests * 1e6


def main(argv: list[str]) -> int:
    if argv == ["--client"]:
        return client_main()
    args = parse_args(argv)
    sys.path.insert(0, str(args.shop_dir.resolve()))
    import shop
    from bench.baseline import create_app as baseline_app

    print(f"shop package: {next(iter(shop.__path__))}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="gateway-cost-") as tmp:
        log_path = args.log_file or Path(tmp) / "access.log"
        log_stream = open(log_path, "a", encoding="utf-8")
        configure_logging("WARNING", log_stream)
        shop_server = Server(shop_app(Path(tmp) / "data"))
        baseline_server = Server(baseline_app())
        shop_server.start()
        baseline_server.start()
        servers = {"baseline": baseline_server, "shop": shop_server}
        token = a_token()
        scenarios = [
            Scenario("bare aiohttp (bench/baseline.py)", baseline_server.port, None),
            Scenario("shop, access log off (WARNING)", shop_server.port, "WARNING"),
            Scenario("shop, access log on (INFO, to a file)", shop_server.port, "INFO"),
            Scenario("shop, with a token, log off", shop_server.port, "WARNING", f"Authorization: Bearer {token}\r\n"),
        ]
        load = LoadProcess()
        try:
            for _ in range(args.rounds):
                for scenario in scenarios:
                    server = servers["baseline" if scenario.log_level is None else "shop"]
                    scenario.samples.append(measure(scenario, args, server, load, log_stream))
        finally:
            load.close()
            configure_logging("WARNING", log_stream)
            shop_server.stop()
            baseline_server.stop()
            log_stream.close()
        logged = sum("shop.access" in line for line in log_path.read_text(encoding="utf-8").splitlines())

    print(f"CPU µs per request, server thread, {args.rounds} rounds of {args.requests} (median; min–max)")
    for scenario in scenarios:
        samples = scenario.samples
        print(f"  {scenario.name:<40} {statistics.median(samples):7.1f}   ({min(samples):.1f}–{max(samples):.1f})")
    on = next(s for s in scenarios if s.log_level == "INFO")
    off = next(s for s in scenarios if s.log_level == "WARNING")
    print(f"  access log costs {statistics.median(on.samples) - statistics.median(off.samples):.1f} µs per request")
    print(f"  ({logged} log lines written; load average {os.getloadavg()[0]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
