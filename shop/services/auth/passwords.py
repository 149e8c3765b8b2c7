"""Password hashing with argon2id, off the event loop.

A dedicated pool, as wide as the machine's cores divided by the lanes of one hash: argon2
runs a hash's `argon2_parallelism` lanes on threads of its own, so one hash at a time already
keeps that many cores busy, and each hash in flight holds `[auth] argon2_memory_kib` (64 MiB by
default). On two cores with four lanes that is one hash at a time: more would add memory (the
shop's peak), not speed. The pool lives as long as the auth app runs: `context` is its cleanup
context, registered before anything that hashes so that it closes after them.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shop.errors import ServiceUnavailable


class PasswordHashing:
    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        self._workers = max(1, (os.cpu_count() or 2) // parallelism)
        self._pool: ThreadPoolExecutor | None = None
        # Verified when an email is unknown, so that answer takes as long as a wrong password.
        self._dummy_hash = self._hasher.hash("not-a-real-password")

    async def context(self, app: web.Application) -> AsyncIterator[None]:
        pool = self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="argon2")
        try:
            yield
        finally:
            self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(self._running_pool(), self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._running_pool(), self._verify, password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with other parameters (or another argon2 variant) than
        the configured ones. It only parses the hash's header, so it may run on the loop."""
        return self._hasher.check_needs_rehash(password_hash)

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._dummy_hash, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    def _running_pool(self) -> ThreadPoolExecutor:
        # Never None to run_in_executor: that would hash on the loop's default executor,
        # unbounded by the width worked out above.
        if self._pool is None:
            raise ServiceUnavailable("The auth service is starting or stopping.")
        return self._pool
