"""The shop's services. Each package: app.py (create_app, and the service's declaration: a
`Service`), routes.py, models.py, store.py, and client.py (the interface other services use
through the registry). shop/services/declared.py lists the declarations; everything the shop
does per service is derived from that list."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from shop.bus import Bus
from shop.config import ShopConfig
from shop.db import Migration
from shop.gateway.revocation import TokenRevocations
from shop.registry import Registry, ServiceKey


@dataclass(frozen=True)
class ServiceApps:
    """What a service gives the root app to mount: its public routes under /api/<name>
    and its service-to-service routes under /internal/<name> (credential required)."""

    name: str
    public: web.Application
    internal: web.Application | None = None


@dataclass(frozen=True)
class ServiceContext:
    """What every service's create_app receives; each takes what it needs."""

    cfg: ShopConfig  # with its secrets resolved (shop.app.resolve_secrets)
    registry: Registry  # the other services' clients; a service registers its own local one
    bus: Bus
    revocations: TokenRevocations  # tokens voided here are refused by this process's gateway


ServiceFactory = Callable[[ServiceContext], ServiceApps]


def _always(cfg: ShopConfig) -> bool:
    return True


@dataclass(frozen=True)
class Service:
    """One service, as the rest of the shop sees it: declared once, in its app.py. Paths are
    relative to its prefix, /api/<name>, like its routes."""

    name: str  # its prefix, its `[services.<name>] url`, its name in --services and /ready
    create_app: ServiceFactory
    key: ServiceKey[Any]  # its client in the registry: a local one, or HTTP to its process
    routes: web.RouteTableDef  # its public routes: what a gateway forwards when it runs elsewhere
    # Whom it calls through the registry: a process that runs it must run those too or
    # know their url.
    calls: tuple[str, ...] = ()
    uses_bus: bool = False  # publishes or consumes events: the bus starts where it runs
    # Where a stale token must not get in the way (logging in again): never verified.
    public_paths: tuple[str, ...] = ()
    # POSTs limited per address like logins ([gateway] auth_rate_limit_per_minute).
    login_paths: tuple[str, ...] = ()
    # Its databases, `<name>.db` in the data directory, with the migrations that say how new
    # a schema this code knows: what backup copies and status reports.
    databases: Mapping[str, Sequence[Migration]] = field(default_factory=dict)
    enabled: Callable[[ShopConfig], bool] = _always  # whether the configuration wants it at all

    @property
    def prefix(self) -> str:
        return f"/api/{self.name}"

    def full_paths(self, paths: Sequence[str]) -> frozenset[str]:
        return frozenset(self.prefix + path for path in paths)
