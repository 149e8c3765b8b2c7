"""Running the shop as a real process (run.py), as a user would, for crash and
multi-process tests."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, JWT_SECRET

REPO = Path(__file__).resolve().parent.parent
START_DEADLINE_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def shop_env(data_dir: Path, port: int, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOP_")}
    env.update(
        {
            "SHOP_SERVER__HOST": "127.0.0.1",
            "SHOP_SERVER__PORT": str(port),
            "SHOP_DATA__DIR": str(data_dir),
            "SHOP_AUTH__JWT_SECRET": JWT_SECRET,
            "SHOP_AUTH__ADMIN_EMAIL": ADMIN_EMAIL,
            "SHOP_AUTH__ADMIN_PASSWORD": ADMIN_PASSWORD,
            "SHOP_GATEWAY__RATE_LIMIT_PER_SECOND": "10000",
            "SHOP_GATEWAY__RATE_LIMIT_BURST": "10000",
            "SHOP_GATEWAY__AUTH_RATE_LIMIT_PER_MINUTE": "10000",
            "SHOP_DISPATCHER__RETRY_BASE_SECONDS": "0.05",
            "SHOP_INTERNAL__SERVICE_TOKEN": "test-service-token-" + "y" * 30,
        }
    )
    env.update(extra or {})
    return env


@dataclass
class ShopProcess:
    process: asyncio.subprocess.Process
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing — a crash."""
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                await self.kill()


async def start_shop(
    data_dir: Path,
    *,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
    args: tuple[str, ...] = (),
    log_name: str = "shop",
    wait_ready: bool = True,
) -> ShopProcess:
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / f"{log_name}-{port}.log"
    log_file = log_path.open("ab")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(REPO / "run.py"),
        *args,
        cwd=REPO,
        env=shop_env(data_dir, port, env),
        stdout=log_file,
        stderr=log_file,
    )
    log_file.close()
    shop = ShopProcess(process, port, log_path)
    await wait_until_up(shop, path="/ready" if wait_ready else "/health")
    return shop


async def wait_until_up(shop: ShopProcess, path: str = "/ready") -> None:
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    async with aiohttp.ClientSession() as session:
        while True:
            if shop.process.returncode is not None:
                raise AssertionError(f"shop exited with {shop.process.returncode}:\n{shop.log()[-3000:]}")
            try:
                async with session.get(shop.url + path) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                await shop.kill()
                raise AssertionError(f"shop not up on {shop.url}{path}:\n{shop.log()[-3000:]}")
            await asyncio.sleep(0.1)
