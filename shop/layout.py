"""Which services run in this process, which it reaches over HTTP, and whether it is the
public gateway: worked out once at start-up from the configuration and `--services`, so a
layout that cannot work is refused before anything opens, with every reason at once.

Without `--services` a process runs every service that has no `[services.<name>] url` and
is the gateway for the ones that have one: the one-process shop, or its front. With
`--services NAMES` it runs exactly those (a url configured for one of them is how the
*other* processes reach it, so one set of urls can serve every process), and `gateway`
among the names makes it the public front: the storefront, and forwarding of every
service not run here.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from shop.config import ConfigError, ShopConfig
from shop.services import Service
from shop.services.declared import SERVICES

GATEWAY = "gateway"
PROCESS_ROLES = (*(service.name for service in SERVICES), GATEWAY)


@dataclass(frozen=True)
class Layout:
    local: frozenset[str]  # services run in this process
    remote: dict[str, str]  # name -> base URL of every configured service not run here
    gateway: bool  # the public front: storefront, and forwarding to the remote services

    def forwarded(self) -> list[str]:
        """The remote services whose public routes this process forwards."""
        return sorted(self.remote) if self.gateway else []


def plan_layout(
    cfg: ShopConfig, services: Collection[str] | None = None, declared: Sequence[Service] = SERVICES
) -> Layout:
    """`declared`: the services there are (shop.services.declared); a test may add one."""
    roles = (*(service.name for service in declared), GATEWAY)
    enabled = [service.name for service in declared if service.enabled(cfg)]
    if services is None:
        local = frozenset(name for name in enabled if cfg.remote_url(name) is None)
        gateway = True
    else:
        unknown = sorted(set(services) - set(roles))
        if unknown:
            raise ConfigError(f"--services: unknown service {', '.join(unknown)}; known: {', '.join(roles)}")
        local = frozenset(name for name in enabled if name in services)
        gateway = GATEWAY in services
    remote = {name: remote.url for name, remote in cfg.services.items() if name not in local}
    problems = [
        *_unknown_urls(cfg, declared),
        *_missing_urls(cfg, local, gateway, enabled, declared),
        *_bus_problems(cfg, local, declared),
    ]
    if remote or local != frozenset(enabled):  # other processes take part
        problems += _unshared_secrets(cfg)
    if problems:
        raise ConfigError("this process cannot start:\n" + "\n".join(f"  {p}" for p in problems))
    return Layout(local, remote, gateway)


def _unknown_urls(cfg: ShopConfig, declared: Sequence[Service]) -> list[str]:
    # The configuration model does not know the services (they import it); a typo in a
    # service's name must not leave that service unreachable without a word.
    known = [service.name for service in declared]
    return [
        f"[services.{name}] (env SHOP_SERVICES__{name.upper()}__URL): unknown service {name}; known: {', '.join(known)}"
        for name in sorted(set(cfg.services) - set(known))
    ]


def _missing_urls(
    cfg: ShopConfig, local: frozenset[str], gateway: bool, enabled: list[str], declared: Sequence[Service]
) -> list[str]:
    needed: dict[str, str] = {}  # service -> why this process needs it
    for service in sorted(declared, key=lambda service: service.name):
        if service.name in local:
            for callee in service.calls:
                needed.setdefault(callee, f"{service.name} calls it")
    if gateway:
        for name in enabled:
            needed.setdefault(name, f"the gateway forwards /api/{name} to it")
    return [
        f"[services.{name}] url is missing (env SHOP_SERVICES__{name.upper()}__URL): "
        f"{name} does not run in this process and {why}"
        for name, why in sorted(needed.items())
        if name not in local and cfg.remote_url(name) is None
    ]


def _bus_problems(cfg: ShopConfig, local: frozenset[str], declared: Sequence[Service]) -> list[str]:
    # The memory bus lives inside one process: events published here would never reach a
    # consumer elsewhere (orders' order.created, the dispatcher), and nothing would say so.
    users = sorted(service.name for service in declared if service.uses_bus and service.enabled(cfg))
    here = [name for name in users if name in local]
    if here and len(here) < len(users) and cfg.bus.kind == "memory":
        return [
            '[bus] kind must be "kafka" (env SHOP_BUS__KIND=kafka, with SHOP_BUS__BOOTSTRAP_SERVERS): '
            f"{' and '.join(users)} use the bus and run in different processes"
        ]
    return []


def _unshared_secrets(cfg: ShopConfig) -> list[str]:
    # Left empty, each process would generate its own in its data directory: tokens signed
    # by auth would not verify elsewhere and every service call would be refused.
    problems = []
    if not cfg.auth.jwt_secret:
        problems.append(
            "[auth] jwt_secret must be set (env SHOP_AUTH__JWT_SECRET), the same in every process: "
            "each one verifies tokens itself"
        )
    if not cfg.internal.service_token:
        problems.append(
            "[internal] service_token must be set (env SHOP_INTERNAL__SERVICE_TOKEN), the same in every "
            "process: services present it to each other"
        )
    return problems
