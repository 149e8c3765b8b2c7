"""run.py as a user runs it: --help, refusals that name the bad key, and a real start."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
STARTUP_DEADLINE = 60.0  # seconds; a loaded CI machine imports slowly


def environment(**overrides: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("SHOP_")}
    env.update(overrides)
    return env


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "run.py", *args],
        cwd=REPO,
        env=environment(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_help_lists_the_options() -> None:
    result = run("--help")
    assert result.returncode == 0, result.stderr
    for option in ("--config", "--host", "--port", "--services", "--log-level"):
        assert option in result.stdout


@pytest.mark.parametrize(
    ("variable", "value", "key"),
    [
        ("SHOP_SERVER__PORT", "abc", "server.port"),
        ("SHOP_AUTH__JWT_SECRET", "short", "auth.jwt_secret"),
        ("SHOP_GATEWAY__CORS_ORIGINS", '["*"]', "gateway.cors_origins"),
    ],
)
def test_bad_configuration_exits_non_zero_naming_the_key(
    tmp_path: Path, unused_tcp_port: int, variable: str, value: str, key: str
) -> None:
    result = run("--port", str(unused_tcp_port), SHOP_DATA__DIR=str(tmp_path), **{variable: value})
    assert result.returncode != 0
    assert key in result.stderr and variable in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.iterdir())  # refused before touching the data directory


def test_a_missing_config_file_exits_non_zero(tmp_path: Path) -> None:
    result = run("--config", str(tmp_path / "nope.toml"), "--port", "0")
    assert result.returncode != 0
    assert "nope.toml" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--log-level", "LOUD"], "LOUD"),
        (["--port", "http"], "http"),
    ],
)
def test_bad_arguments_exit_non_zero_naming_them(
    tmp_path: Path, unused_tcp_port: int, args: list[str], named: str
) -> None:
    # An explicit free port even here: if the refusal broke, the shop must not take 8080.
    port = [] if "--port" in args else ["--port", str(unused_tcp_port)]
    result = run(*args, *port, SHOP_DATA__DIR=str(tmp_path))
    assert result.returncode != 0
    assert named in result.stderr and "Traceback" not in result.stderr


def get_json(url: str) -> tuple[int, object]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_run_serves_and_stops_cleanly(tmp_path: Path, unused_tcp_port: int) -> None:
    process = subprocess.Popen(
        [sys.executable, "run.py", "--port", str(unused_tcp_port)],
        cwd=REPO,
        env=environment(SHOP_DATA__DIR=str(tmp_path / "data")),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + STARTUP_DEADLINE
        status = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                status, _ = get_json(f"http://127.0.0.1:{unused_tcp_port}/ready")
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)  # polling a start-up with a bounded deadline, not waiting on an event
        assert status == 200, (status, process.stderr.read() if process.poll() is not None else "")
        assert (tmp_path / "data" / "auth.db").exists() and (tmp_path / "data" / "customers.db").exists()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            _, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    # The structured access log went to stderr, one JSON object per line.
    access = [json.loads(line) for line in stderr.splitlines() if '"shop.access"' in line]
    assert access and access[0]["path"] == "/ready" and access[0]["status"] == 200
