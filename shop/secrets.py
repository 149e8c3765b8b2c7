"""Secrets a local run may generate once and keep in the data directory (mode 0600)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def persistent_secret(data_dir: Path, name: str) -> str:
    path = data_dir / f".{name}"
    try:
        existing = path.read_text().strip()
    except FileNotFoundError:
        existing = ""
    if len(existing) >= 32:
        return existing
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting together must end up with the same secret.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as file:
        file.write(value)
    return value
