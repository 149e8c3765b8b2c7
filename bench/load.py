"""Closed-loop HTTP load with wrk: N connections, each sending its next request as soon as
the last one answered, for a fixed time. wrk reports through bench/lua/report.lua."""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

LUA_DIR = Path(__file__).resolve().parent / "lua"
RESULT_MARKER = "BENCH-RESULT "
# A request slower than this is a timeout error in wrk's count. Login under 64 connections
# queues for seconds behind the password hash, which is a measurement, not an error.
REQUEST_TIMEOUT = "30s"

INSTALL_HINT = "wrk is not installed; `make bench` needs it: sudo apt-get install wrk (Debian/Ubuntu)"


class WrkMissing(RuntimeError):
    pass


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise WrkMissing(INSTALL_HINT)
    return found


@dataclass(frozen=True)
class Load:
    """What to send: method and body come from a Lua script in bench/lua (None: GET)."""

    path: str
    script: str | None = None
    script_args: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    errors: dict[str, int]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "rps": round(self.rps, 1),
            "p50_ms": self.p50_ms,
            "p90_ms": self.p90_ms,
            "p99_ms": self.p99_ms,
            "max_ms": self.max_ms,
            "errors": self.errors,
        }


async def run_wrk(
    base_url: str, load: Load, *, seconds: float, connections: int, threads: int, work_dir: Path
) -> LoadResult:
    script = work_dir / f"wrk-{(load.script or 'get').removesuffix('.lua')}.lua"
    parts = [(LUA_DIR / load.script).read_text()] if load.script else []
    parts.append((LUA_DIR / "report.lua").read_text())
    script.write_text("\n".join(parts))
    argv = [
        wrk_binary(),
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        f"--timeout={REQUEST_TIMEOUT}",
        f"--script={script}",
    ]
    for name, value in load.headers:
        argv += ["--header", f"{name}: {value}"]
    argv.append(base_url + load.path)
    if load.script_args:
        argv += ["--", *load.script_args]
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    text = out.decode(errors="replace")
    line = next((line for line in text.splitlines() if line.startswith(RESULT_MARKER)), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{text}\n{err.decode(errors='replace')}")
    data = json.loads(line[len(RESULT_MARKER) :])
    latency = data["latency_us"]
    return LoadResult(
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        errors={k: int(v) for k, v in data["errors"].items()},
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000,
    )
