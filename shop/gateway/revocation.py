"""Token revocation per account: every token issued to an account before a moment stops
working, on every route, including tokens TokenCheck remembered as verified.

One time per account ("tokens issued before this are void"), kept in memory so a request
costs one dict look-up and no database trip. The auth service owns the times (its `users`
table), loads them here at start-up and moves one on when it voids an account's tokens: a
password reset today; a password change or a deleted account use the same call.

The auth service keeps every revocation in its database in order (a seq). Its own process
learns of one at once; a process without auth that knows where auth runs (every gateway of
a split deployment does) asks it for the ones after the last seq it saw, at start and then
every FOLLOW_SECONDS (`follow`), so a voided token stops working there within seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Protocol

from aiohttp import web

from shop.errors import ShopError

log = logging.getLogger("shop.revocations")

FOLLOW_SECONDS = 2.0


class Voided(Protocol):
    @property
    def seq(self) -> int: ...

    @property
    def user_id(self) -> int: ...

    @property
    def valid_after(self) -> float: ...


class TokenRevocations:
    def __init__(self) -> None:
        self._valid_after: dict[int, float] = {}  # user id -> unix time
        self.seq = 0  # the last revocation learned from the auth service's record

    def void_tokens_issued_before(self, user_id: int, moment: float) -> None:
        if moment > self._valid_after.get(user_id, 0.0):
            self._valid_after[user_id] = moment

    def load(self, voided: Iterable[Voided]) -> None:
        for revocation in voided:
            self.void_tokens_issued_before(revocation.user_id, revocation.valid_after)
            self.seq = max(self.seq, revocation.seq)

    async def catch_up(self, since: Callable[[int], Awaitable[Sequence[Voided]]]) -> None:
        """Load every revocation recorded after the last one seen, a page at a time."""
        while page := await since(self.seq):
            before = self.seq
            self.load(page)
            if self.seq == before:  # nothing new in a full page: do not spin
                return

    def accepts(self, user_id: int, issued_at: float) -> bool:
        valid_after = self._valid_after.get(user_id)
        return valid_after is None or issued_at >= valid_after


def follow(
    revocations: TokenRevocations, since: Callable[[int], Awaitable[Sequence[Voided]]]
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context for a process without the auth service: it keeps asking auth for
    revocations, so tokens voided there are refused here within FOLLOW_SECONDS."""

    async def keep_up() -> None:
        while True:
            try:
                await revocations.catch_up(since)
            except ShopError as exc:  # auth down or unreachable: the next round tries again
                log.warning("token revocations not fetched", extra={"reason": exc.detail})
            await asyncio.sleep(FOLLOW_SECONDS)

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(keep_up(), name="token-revocations")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return ctx
