"""Rate limiting per caller: the user id when authenticated, else the client address.

A generic cell rate algorithm (GCRA) — a token bucket kept as one timestamp per key — so a
caller may burst up to `burst` requests and then gets `rate` per second. Login and
registration have their own, stricter per-minute budget per client address, since password
guessing is what a limiter is mostly for. Written here rather than taken from a library
because it is twenty lines and needs the exact numbers for the RateLimit-* headers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import NamedTuple

from aiohttp import web
from multidict import CIMultiDict

from shop.config import GatewayConfig
from shop.errors import TooManyRequests
from shop.gateway.context import Caller
from shop.gateway.paths import routed_path


# A named tuple rather than a dataclass: one is made on every API request, and a tuple is
# several times cheaper to make.
class Decision(NamedTuple):
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int
    retry_after: int


class Gcra:
    _PRUNE_EVERY = 10_000

    def __init__(self, rate_per_second: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1.0 / rate_per_second
        self.burst = burst
        self.tolerance = self.interval * burst
        self._clock = clock
        self._tat: dict[str, float] = {}  # theoretical arrival time per key
        self._hits = 0

    def hit(self, key: str) -> Decision:
        now = self._clock()
        self._hits += 1
        if self._hits % self._PRUNE_EVERY == 0:
            self._prune(now)
        tat = max(self._tat.get(key, now), now)
        new_tat = tat + self.interval
        if new_tat - now > self.tolerance:
            retry_after = new_tat - self.tolerance - now
            return Decision(False, self.burst, 0, math.ceil(tat - now), max(1, math.ceil(retry_after)))
        self._tat[key] = new_tat
        remaining = int((self.tolerance - (new_tat - now)) / self.interval + 1e-9)
        return Decision(True, self.burst, remaining, math.ceil(new_tat - now), 0)

    def _prune(self, now: float) -> None:
        # A key whose bucket has refilled carries no state worth keeping.
        self._tat = {key: tat for key, tat in self._tat.items() if tat > now}


_DECISION = web.RequestKey("rate_limit_decision", Decision)


class RateLimiter:
    """The general budget per caller and the strict one for logging in and registering."""

    def __init__(self, cfg: GatewayConfig, login_paths: frozenset[str]) -> None:
        """`login_paths`: where a POST spends the strict budget (shop.services.Service.login_paths)."""
        self._login_paths = login_paths
        self._general = Gcra(cfg.rate_limit_per_second, cfg.rate_limit_burst)
        per_minute = cfg.auth_rate_limit_per_minute
        self._strict = Gcra(per_minute / 60.0, per_minute)

    def check(self, request: web.Request, caller: Caller | None, address: str | None) -> None:
        """Count an API request against its budget (the decision goes into the response's
        headers); TooManyRequests once the budget is spent. Not for a forwarded request: the
        gateway that forwarded it counted it already."""
        if request.method == "OPTIONS" or not request.path.startswith("/api/"):
            return
        if request.method == "POST" and routed_path(request) in self._login_paths:
            decision = self._strict.hit(f"ip:{address}")
        else:
            decision = self._general.hit(f"user:{caller.user_id}" if caller else f"ip:{address}")
        request[_DECISION] = decision
        if not decision.allowed:
            raise TooManyRequests(f"Too many requests; try again in {decision.retry_after} s.", decision.retry_after)

    def counted(self, request: web.Request) -> bool:
        """Whether `check` already counted this request."""
        return _DECISION in request


def set_rate_limit_headers(request: web.Request, headers: CIMultiDict[str]) -> None:
    decision = request.get(_DECISION)
    if decision is not None:
        headers["RateLimit-Limit"] = str(decision.limit)
        headers["RateLimit-Remaining"] = str(decision.remaining)
        headers["RateLimit-Reset"] = str(decision.reset_seconds)
