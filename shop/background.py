"""One background task per object, started and stopped the same way everywhere (the outbox
relay, the retention pruner, the stuck-order watchdog)."""

from __future__ import annotations

import asyncio
import contextlib


class BackgroundLoop:
    """Subclasses implement `_run`, the loop; `start` runs it as a named task, `stop` cancels
    it and waits for it to end (stopping twice, or before starting, is fine)."""

    task_name = "background-loop"

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.task_name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        raise NotImplementedError
