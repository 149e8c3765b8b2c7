"""Pruning finished bookkeeping in the background, so the databases stop growing.

Each service hands the pruner its steps: "delete up to N rows older than the age you were
given". The pruner runs every step in batches of `[retention] batch_size`, each batch one
unit of work (one short transaction on the writer), and yields to the loop between batches,
so a request's write waits behind at most one batch.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from shop.background import BackgroundLoop
from shop.clock import utc_now
from shop.config import RetentionConfig

log = logging.getLogger("shop.retention")


@dataclass(frozen=True)
class PruneStep:
    name: str
    age_seconds: int
    # (cutoff as RFC 3339 UTC, at most this many rows) -> how many it deleted
    delete: Callable[[str, int], Awaitable[int]]


class Pruner(BackgroundLoop):
    task_name = "retention-pruner"

    def __init__(self, cfg: RetentionConfig, steps: list[PruneStep]) -> None:
        super().__init__()
        self._cfg = cfg
        self._steps = steps

    async def prune(self) -> dict[str, int]:
        """One pass over every step; how many rows each deleted."""
        deleted: dict[str, int] = {}
        for step in self._steps:
            cutoff = utc_now(step.age_seconds)
            total = 0
            while True:
                count = await step.delete(cutoff, self._cfg.batch_size)
                total += count
                if count < self._cfg.batch_size:
                    break
                await asyncio.sleep(0)  # let requests in between batches
            deleted[step.name] = total
        return deleted

    async def _run(self) -> None:
        while True:
            try:
                deleted = await self.prune()
            except Exception:
                log.exception("pruning failed; will try again")
            else:
                if any(deleted.values()):
                    log.info("pruned finished bookkeeping", extra={"deleted": deleted})
            await asyncio.sleep(self._cfg.interval_seconds)


def pruning_context(
    cfg: RetentionConfig, steps: Callable[[], list[PruneStep]]
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context that prunes in the background while the app runs; `steps` is called
    at start-up, once the service's database is open."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        pruner = Pruner(cfg, steps())
        pruner.start()
        try:
            yield
        finally:
            await pruner.stop()

    return ctx
