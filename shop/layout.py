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

from collections.abc import Collection
from dataclasses import dataclass

from shop.config import SERVICE_NAMES, ConfigError, ShopConfig

GATEWAY = "gateway"
PROCESS_ROLES = (*SERVICE_NAMES, GATEWAY)

# Whom each service calls through the registry: a process that runs it must run those too
# or know their url.
CALLS: dict[str, tuple[str, ...]] = {
    "auth": ("customers",),  # registration creates the profile
    "customers": ("auth",),  # a deleted or renamed customer's login follows
    "orders": ("products", "customers"),  # prices and stock; the customer must still exist
    "dispatcher": ("orders",),  # marks orders Dispatched
}


@dataclass(frozen=True)
class Layout:
    local: frozenset[str]  # services run in this process
    remote: dict[str, str]  # name -> base URL of every configured service not run here
    gateway: bool  # the public front: storefront, and forwarding to the remote services

    def forwarded(self) -> list[str]:
        """The remote services whose public routes this process forwards."""
        return sorted(self.remote) if self.gateway else []


def plan_layout(cfg: ShopConfig, services: Collection[str] | None = None) -> Layout:
    enabled = [name for name in SERVICE_NAMES if name != "dispatcher" or cfg.dispatcher.enabled]
    if services is None:
        local = frozenset(name for name in enabled if cfg.remote_url(name) is None)
        gateway = True
    else:
        unknown = sorted(set(services) - set(PROCESS_ROLES))
        if unknown:
            raise ConfigError(f"--services: unknown service {', '.join(unknown)}; known: {', '.join(PROCESS_ROLES)}")
        local = frozenset(name for name in enabled if name in services)
        gateway = GATEWAY in services
    remote = {name: remote.url for name, remote in cfg.services.items() if name not in local}
    problems = [*_missing_urls(cfg, local, gateway, enabled), *_bus_problems(cfg, local)]
    if remote or local != frozenset(enabled):  # other processes take part
        problems += _unshared_secrets(cfg)
    if problems:
        raise ConfigError("this process cannot start:\n" + "\n".join(f"  {p}" for p in problems))
    return Layout(local, remote, gateway)


def _missing_urls(cfg: ShopConfig, local: frozenset[str], gateway: bool, enabled: list[str]) -> list[str]:
    needed: dict[str, str] = {}  # service -> why this process needs it
    for name in sorted(local):
        for callee in CALLS.get(name, ()):
            needed.setdefault(callee, f"{name} calls it")
    if gateway:
        for name in enabled:
            needed.setdefault(name, f"the gateway forwards /api/{name} to it")
    return [
        f"[services.{name}] url is missing (env SHOP_SERVICES__{name.upper()}__URL): "
        f"{name} does not run in this process and {why}"
        for name, why in sorted(needed.items())
        if name not in local and cfg.remote_url(name) is None
    ]


def _bus_problems(cfg: ShopConfig, local: frozenset[str]) -> list[str]:
    # The memory bus lives inside one process: orders' events would never reach a
    # dispatcher elsewhere, and nothing would say so.
    if cfg.dispatcher.enabled and ("orders" in local) != ("dispatcher" in local) and cfg.bus.kind == "memory":
        return [
            '[bus] kind must be "kafka" (env SHOP_BUS__KIND=kafka, with SHOP_BUS__BOOTSTRAP_SERVERS): '
            "orders and the dispatcher run in different processes"
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
