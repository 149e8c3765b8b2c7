"""Waiting for background effects (the relay, the bus, the dispatcher) without fixed sleeps:
check, yield to the loop, check again, up to a deadline that only a bug reaches."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import ClientResponse

T = TypeVar("T")

DEADLINE_SECONDS = 20.0


async def eventually(check: Callable[[], Awaitable[T | None]], what: str, timeout: float = DEADLINE_SECONDS) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.02)


async def holds(value: bool) -> bool:
    """For `eventually` on a plain condition: `eventually(lambda: holds(x == 3), ...)`."""
    return value


async def read_sse(
    response: ClientResponse, until: Callable[[list[dict[str, Any]]], bool], timeout: float = DEADLINE_SECONDS
) -> list[dict[str, Any]]:
    """Parse a text/event-stream into [{event, id, data}] until `until(events)` holds."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}

    async def consume() -> None:
        nonlocal current
        async for raw in response.content:
            line = raw.decode().rstrip("\n").rstrip("\r")
            if not line:
                if "data" in current:
                    events.append(current)
                    if until(events):
                        return
                current = {}
            elif line.startswith(":"):
                continue
            else:
                field, _, value = line.partition(":")
                value = value.removeprefix(" ")
                current[field] = json.loads(value) if field == "data" else value

    await asyncio.wait_for(consume(), timeout)
    return events
