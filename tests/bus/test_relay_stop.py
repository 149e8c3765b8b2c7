"""Stopping the outbox relay ends it, even when it is woken at that very moment (on Python
3.11, asyncio.wait_for drops such a cancellation and the stop would wait forever)."""

from __future__ import annotations

import asyncio

from shop.bus.memory import MemoryBus
from shop.bus.outbox import OutboxRelay
from shop.config import BusConfig
from tests.bus.test_outbox import ListOutbox


async def test_stop_ends_the_relay_even_when_woken_at_that_moment() -> None:
    bus = MemoryBus(BusConfig())
    await bus.start()
    try:
        for turns in range(4):  # loop turns between wake() and stop(): each races differently
            for _ in range(10):
                relay = OutboxRelay(ListOutbox(0), bus, poll_seconds=3600)  # only a wake() ends a wait
                relay.start()
                await relay.wait_idle()
                await asyncio.sleep(0)  # the relay now waits to be woken
                relay.wake()
                for _ in range(turns):
                    await asyncio.sleep(0)
                # asyncio.wait, not wait_for: a timed-out stop() would swallow its own
                # cancellation and look finished.
                stopping = asyncio.create_task(relay.stop())
                done, _ = await asyncio.wait({stopping}, timeout=5)
                assert done, f"stop() did not end the relay ({turns} turns after wake())"
    finally:
        await bus.stop()
