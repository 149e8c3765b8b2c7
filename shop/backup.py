"""Backing up a shop while it serves, and restoring one.

A backup is one instant for every database of the data directory, the instant a crash
would have left: the copier takes each database's write lock (BEGIN IMMEDIATE, in a fixed
order; the shop's writers wait a few milliseconds), opens a read snapshot on each, lets the
write locks go, and only then copies each snapshot with SQLite's backup API. An order
placed meanwhile is in the copy whole or not at all, and what was half done across
services at that instant (a reservation without its order, an event not yet published) is
finished or given back when the restored shop starts, exactly as after a crash.

The manifest lists every file with its size and SHA-256, and each database's schema
version; restore checks all of it before it touches the data directory, and refuses to
run while a shop serves from there (shop.datalock).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path

from shop import datalock
from shop.clock import utc_now
from shop.db import Migration
from shop.services.declared import SERVICES

MANIFEST = "manifest.json"
FORMAT = 1
# Every database a data directory may hold, as the services declare them, with the
# migrations that say how new a schema this code knows. The order is the order the write
# locks are taken in (any fixed order would do: the shop's own units never wait for a
# second database).
DATABASES: dict[str, Sequence[Migration]] = {
    name: migrations for service in SERVICES for name, migrations in service.databases.items()
}
# Secrets a local run generated (shop.secrets): without them a restored shop would refuse
# every token issued before and sign webhooks its receivers reject.
SECRETS = (".jwt_secret", ".admin_password", ".service_token", ".webhook_secret")
LOCK_WAIT_MS = 5_000


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why."""


@dataclass(frozen=True)
class FileEntry:
    name: str
    bytes: int
    sha256: str
    schema_version: int | None = None  # databases only


def backup(data_dir: Path, destination: Path) -> list[FileEntry]:
    """Copy every database and secret of `data_dir` into `destination` (which must be
    empty or new) and write the manifest there last: a directory with a manifest is whole."""
    present = [name for name in DATABASES if (data_dir / f"{name}.db").exists()]
    if not present:
        raise BackupError(f"{data_dir} holds no shop database")
    destination.mkdir(parents=True, exist_ok=True)
    if any(destination.iterdir()):
        raise BackupError(f"{destination} is not empty")
    entries = []
    with ExitStack() as stack:
        snapshots = {name: stack.enter_context(closing(_connect(data_dir / f"{name}.db"))) for name in present}
        _open_snapshots_at_one_instant(list(snapshots.values()), data_dir)
        for name, source in snapshots.items():
            target_path = destination / f"{name}.db"
            with closing(sqlite3.connect(target_path)) as target:
                source.backup(target)
            version = int(source.execute("PRAGMA user_version").fetchone()[0])
            entries.append(_entry(target_path, version))
    for secret in SECRETS:
        if (data_dir / secret).exists():
            shutil.copyfile(data_dir / secret, destination / secret)
            os.chmod(destination / secret, 0o600)
            entries.append(_entry(destination / secret))
    manifest = {"format": FORMAT, "created_at": utc_now(), "files": [entry.__dict__ for entry in entries]}
    _write_synced(destination / MANIFEST, json.dumps(manifest, indent=2).encode())
    return entries


def _open_snapshots_at_one_instant(connections: list[sqlite3.Connection], data_dir: Path) -> None:
    """Each connection ends in a read transaction, all on the same instant: no database
    commits between the first snapshot and the last."""
    lockers = [_connect(data_dir / f"{name}.db") for name in DATABASES if (data_dir / f"{name}.db").exists()]
    try:
        for locker in lockers:
            locker.execute("BEGIN IMMEDIATE")  # waits (busy_timeout) for the shop's commit
        for conn in connections:
            conn.execute("BEGIN")
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # the snapshot starts here
    except sqlite3.OperationalError as exc:
        raise BackupError(f"could not pause the shop's writes: {exc}") from None
    finally:
        for locker in lockers:
            if locker.in_transaction:
                locker.execute("ROLLBACK")
            locker.close()


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout={LOCK_WAIT_MS}")
    return conn


def restore(source: Path, data_dir: Path) -> list[FileEntry]:
    """Put a backup in place in `data_dir`. Refuses, before touching anything, a backup
    that does not match its manifest or has a schema newer than this code, and a data
    directory a shop serves from. Files it replaces are moved to `data_dir/replaced-<time>`."""
    entries = verify(source)
    with datalock.exclusive(data_dir):
        replaced = data_dir / f"replaced-{utc_now().replace(':', '-')}"
        for entry in entries:
            for old in _with_sidecars(data_dir / entry.name):
                replaced.mkdir(exist_ok=True)
                old.rename(replaced / old.name)
            incoming = data_dir / f"{entry.name}.restoring"
            shutil.copyfile(source / entry.name, incoming)
            if entry.name in SECRETS:
                os.chmod(incoming, 0o600)
            with open(incoming, "rb+") as file:
                os.fsync(file.fileno())
            incoming.rename(data_dir / entry.name)
        _fsync_dir(data_dir)
    return entries


def verify(source: Path) -> list[FileEntry]:
    """The backup's files, once each matches the manifest and this code can open it."""
    try:
        manifest = json.loads((source / MANIFEST).read_text())
        entries = [FileEntry(**item) for item in manifest["files"]]
    except FileNotFoundError:
        raise BackupError(f"{source} has no {MANIFEST}: not a backup, or an unfinished one") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"{source / MANIFEST} is unreadable: {exc}") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"backup format {manifest.get('format')!r} is not {FORMAT}")
    allowed = {f"{name}.db" for name in DATABASES} | set(SECRETS)
    for entry in entries:
        if entry.name not in allowed:
            raise BackupError(f"the manifest names {entry.name!r}, which is no file of a shop")
        path = source / entry.name
        if not path.exists():
            raise BackupError(f"{entry.name} is missing")
        actual = _entry(path, entry.schema_version)
        if (actual.bytes, actual.sha256) != (entry.bytes, entry.sha256):
            raise BackupError(f"{entry.name} does not match its checksum in the manifest")
        if entry.name.endswith(".db"):
            known = len(DATABASES[entry.name.removesuffix(".db")])
            if entry.schema_version is None or entry.schema_version > known:
                raise BackupError(
                    f"{entry.name} has schema version {entry.schema_version}, newer than this code knows ({known}):"
                    " restore it with the version of the shop that made it"
                )
    return entries


def _entry(path: Path, schema_version: int | None = None) -> FileEntry:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return FileEntry(path.name, size, digest.hexdigest(), schema_version)


def _with_sidecars(path: Path) -> Iterator[Path]:
    # A database's -wal and -shm belong to the file they sit beside: left behind, SQLite
    # would replay the old log into the restored file.
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if candidate.exists():
            yield candidate


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
