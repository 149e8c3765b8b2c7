"""A shop that the tests and the benchmark start on this machine: a data directory of its
own, known secrets and an admin the caller can log in as, and rate limits high enough to stay
out of the way. One set of settings in the two forms a shop reads: a ShopConfig for an app
built in the caller's process, SHOP_* variables for run.py in a process of its own.

Nothing in the shop imports this module; it is here so tests/ and bench/ share one builder."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shop.config import ShopConfig

Sections = Mapping[str, Mapping[str, Any]]  # {"gateway": {"rate_limit_burst": 3}, ...}


@dataclass(frozen=True)
class LocalShop:
    jwt_secret: str
    admin_email: str
    admin_password: str
    service_token: str
    rate_limit: int  # requests per second and burst, and logins per minute
    defaults: Sections = field(default_factory=dict)  # what every shop of this caller also gets

    def settings(self, data_dir: Path, *layers: Sections) -> dict[str, dict[str, Any]]:
        """The settings on `data_dir`, then `defaults`, then each layer, merged per section."""
        merged: dict[str, dict[str, Any]] = {
            "data": {"dir": str(data_dir)},
            "auth": {
                "jwt_secret": self.jwt_secret,
                "admin_email": self.admin_email,
                "admin_password": self.admin_password,
            },
            "gateway": {
                "rate_limit_per_second": self.rate_limit,
                "rate_limit_burst": self.rate_limit,
                "auth_rate_limit_per_minute": self.rate_limit,
            },
            "internal": {"service_token": self.service_token},
        }
        for layer in (self.defaults, *layers):
            for name, changes in layer.items():
                merged[name] = {**merged.get(name, {}), **changes}
        return merged

    def config(self, data_dir: Path, **sections: Mapping[str, Any]) -> ShopConfig:
        """For create_app in this process."""
        return ShopConfig.model_validate(self.settings(data_dir, sections))

    def environment(
        self, data_dir: Path, port: int, extra: Mapping[str, str] | None = None, **sections: Mapping[str, Any]
    ) -> dict[str, str]:
        """For run.py on 127.0.0.1:`port`: this process's environment without its own SHOP_*
        variables (a developer's settings must not leak in), the settings as SHOP_* variables,
        then `extra` variables as they are."""
        server = {"server": {"host": "127.0.0.1", "port": port}}
        env = {name: value for name, value in os.environ.items() if not name.startswith("SHOP_")}
        env.update(variables(self.settings(data_dir, server, sections)))
        env.update(extra or {})
        return env


def variables(settings: Mapping[str, Any]) -> dict[str, str]:
    """Settings as the environment spells them: SHOP_<SECTION>__<KEY>, a nested mapping one
    level deeper (SHOP_SERVICES__ORDERS__URL), a list as JSON."""
    return dict(_spelled("SHOP_", settings))


def _spelled(prefix: str, settings: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for key, value in settings.items():
        name = prefix + key.upper()
        if isinstance(value, Mapping):
            yield from _spelled(name + "__", value)
        elif isinstance(value, bool):
            yield name, "true" if value else "false"
        elif isinstance(value, list | tuple):
            yield name, json.dumps(value)
        else:
            yield name, str(value)


def free_port() -> int:
    """A loopback TCP port that nothing listens on at this moment."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
