"""`run.py status`: log in as the configured admin and read GET /api/status."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from shop.config import ShopConfig

TIMEOUT_SECONDS = 30.0  # the login hashes a password (argon2): allow for a busy machine


class StatusUnavailable(Exception):
    """The shop did not answer, or refused the admin's login; the message says which."""


def fetch(cfg: ShopConfig, url: str | None = None) -> dict[str, Any]:
    base = (url or f"http://{_connectable(cfg.server.host)}:{cfg.server.port}").rstrip("/")
    password = cfg.auth.admin_password or _generated_password(cfg)
    login = _call(f"{base}/api/auth/login", {"email": cfg.auth.admin_email, "password": password})
    status: dict[str, Any] = _call(f"{base}/api/status", token=login["token"])
    return status


def _call(url: str, body: dict[str, str] | None = None, token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise StatusUnavailable(f"{url} answered {exc.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise StatusUnavailable(f"no shop answers at {url}: {exc}") from None


def _generated_password(cfg: ShopConfig) -> str:
    try:
        return (cfg.data.dir / ".admin_password").read_text().strip()
    except FileNotFoundError:
        raise StatusUnavailable(
            f"no admin password: set [auth] admin_password or run from where {cfg.data.dir} is"
        ) from None


def _connectable(host: str) -> str:
    # A shop listening on every address is reached on loopback.
    return {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, host)
