"""Who uses a data directory: a serving shop holds a shared lock on it for as long as it
runs (several processes of a split deployment may share one directory), and a restore
takes it exclusively, so neither can start while the other has the files open."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

from aiohttp import web

try:
    import fcntl
except ImportError:  # Windows: no flock; a restore there cannot tell whether a shop serves
    fcntl = None  # type: ignore[assignment]  # the module, or None where there is none

LOCK_FILE = "serving.lock"


class DataDirBusy(Exception):
    """The data directory is in use by someone who needs it to themselves."""


@contextlib.contextmanager
def _locked(data_dir: Path, exclusive: bool, refusal: str) -> Iterator[None]:
    data_dir.mkdir(parents=True, exist_ok=True)
    if fcntl is None:
        if exclusive:
            raise DataDirBusy("restore needs file locks (flock), which this system does not have")
        yield
        return
    mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            # flock, not fcntl's record locks: it belongs to this open file, so a second
            # open of the same file in this very process conflicts too (tests rely on it).
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataDirBusy(refusal.format(dir=data_dir)) from None
        yield
    finally:
        os.close(fd)  # releases the lock


def exclusive(data_dir: Path) -> contextlib.AbstractContextManager[None]:
    """For a restore: refuses (DataDirBusy) while any shop serves from `data_dir`."""
    return _locked(data_dir, True, "a shop is serving from {dir}: stop it first")


def serving_context(data_dir: Path) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context: the shop holds the shared lock from start-up to shutdown."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        with _locked(data_dir, False, "a restore into {dir} is under way"):
            yield

    return ctx
