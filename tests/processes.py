"""Running the shop as a real process (run.py), as a user would, for crash and
multi-process tests."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from shop.testing import free_port
from tests.conftest import TEST_SHOP
from tests.waiting import eventually

REPO = Path(__file__).resolve().parent.parent
START_DEADLINE_SECONDS = 30.0


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
        env=TEST_SHOP.environment(data_dir, port, env),
        stdout=log_file,
        stderr=log_file,
    )
    log_file.close()
    shop = ShopProcess(process, port, log_path)
    await wait_until_up(shop, path="/ready" if wait_ready else "/health")
    return shop


async def wait_until_up(shop: ShopProcess, path: str = "/ready") -> None:
    async with aiohttp.ClientSession() as session:

        async def up() -> bool:
            if shop.process.returncode is not None:
                raise AssertionError(f"shop exited with {shop.process.returncode}")
            try:
                async with session.get(shop.url + path) as response:
                    return response.status == 200
            except aiohttp.ClientError:
                return False

        try:
            await eventually(up, f"the shop on {shop.url}{path}", START_DEADLINE_SECONDS)
        except AssertionError as failure:
            await shop.kill()
            raise AssertionError(f"{failure}:\n{shop.log()[-3000:]}") from None
