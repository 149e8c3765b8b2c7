"""What the numbers were measured on: a benchmark result without its machine means nothing."""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def _first(path: str, prefix: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip() if ":" in line else line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return "unknown"


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _command(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, cwd=REPO)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr).strip() else "unknown"


def describe() -> dict[str, object]:
    mem_kib = _first("/proc/meminfo", "MemTotal").split()[0]
    return {
        "cpu": _first("/proc/cpuinfo", "model name"),
        "cores": os.cpu_count(),
        "memory_gib": round(int(mem_kib) / 1024 / 1024, 1) if mem_kib.isdigit() else None,
        "os": _first("/etc/os-release", "PRETTY_NAME="),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in ("aiohttp", "pydantic", "aiosqlite", "uvloop", "orjson")},
        "wrk": _command(["wrk", "--version"]),
        "commit": _command(["git", "rev-parse", "--short", "HEAD"]),
    }


@dataclass
class Occasion:
    """When a run began and how busy the machine was then; `report` adds the machine and how
    busy it was at the end: the head of every recorded result."""

    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    load_before: list[float] = field(default_factory=load_average)

    def report(self) -> dict[str, object]:
        return {
            "started_at": self.started.isoformat(timespec="seconds"),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": describe(),
            "load_average_before": self.load_before,
            "load_average_after": load_average(),
        }
