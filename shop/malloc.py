"""glibc's allocator, told what suits one small process: few arenas, and the memory start-up
used and freed given back. Both are glibc calls through ctypes; elsewhere (musl, macOS,
Windows) nothing happens.

Arenas: glibc gives every thread that allocates an arena of its own, up to 8 per core; the
shop has a dozen threads (a writer and a reader per database, the password-hashing pool)
that allocate little and rarely at the same time, and each arena keeps pages of its own.
Two arenas cost the loop nothing it would notice and keep ~1 MB less resident.

Trim: start-up (migrations, the seed catalogue, building the routes) frees a few MB into
the middle of the heap, where glibc keeps it; malloc_trim returns whole free pages to the
kernel once, after start-up.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from functools import cache
from typing import Any

from aiohttp import web

log = logging.getLogger("shop.malloc")

M_ARENA_MAX = -8  # glibc malloc.h
ARENAS = 2


@cache
def _glibc() -> Any:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    # gnu_get_libc_version exists only in glibc: other C libraries have no mallopt knobs.
    return libc if hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "malloc_trim") else None


def limit_arenas(arenas: int = ARENAS) -> None:
    """Call before any thread starts: an arena made already stays."""
    libc = _glibc()
    if libc is not None and not libc.mallopt(M_ARENA_MAX, arenas):
        log.warning("mallopt(M_ARENA_MAX) was refused")


def release_freed_memory() -> None:
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def trim_after_startup(app: web.Application) -> None:
    """On the root app, after every other start-up hook has been added."""

    async def trim(app: web.Application) -> None:
        release_freed_memory()

    app.on_startup.append(trim)
