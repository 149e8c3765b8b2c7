"""Operations endpoints on the root app: health, readiness, the registry, metrics."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable

from aiohttp import web

from shop.gateway.context import optional_caller, request_id, require_admin
from shop.jsonutil import json_response
from shop.metrics import Metrics
from shop.problems import problem_response
from shop.registry import Registry

REGISTRY = web.AppKey("registry", Registry)
METRICS = web.AppKey("metrics", Metrics)
# Extra readiness checks beyond the registry's services (the bus, for one): name -> probe.
READINESS_CHECKS = web.AppKey("readiness_checks", dict[str, Callable[[], Awaitable[bool]]])

routes = web.RouteTableDef()


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


@routes.get("/ready")
async def ready(request: web.Request) -> web.Response:
    registry = request.app[REGISTRY]
    await registry.check_all()
    checks = {entry.name: entry.healthy for entry in registry.entries()}
    for name, probe in request.app[READINESS_CHECKS].items():
        checks[name] = await probe()
    failing = sorted(name for name, ok in checks.items() if not ok)
    if failing:
        return problem_response(
            503,
            f"Not ready: {', '.join(failing)}.",
            request_id=request_id(request),
            extensions={"checks": checks},  # RFC 9457 extension member: which check failed
        )
    return json_response({"status": "ready", "checks": checks})


@routes.get("/api/registry")
async def registry_entries(request: web.Request) -> web.Response:
    require_admin(request)
    return json_response(
        [
            {"name": e.name, "location": e.location, "healthy": e.healthy, "checked_at": e.checked_at}
            for e in request.app[REGISTRY].entries()
        ]
    )


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    caller = optional_caller(request)
    if not _is_loopback(request.remote) and not (caller and caller.is_admin):
        require_admin(request)
    return request.app[METRICS].render()


def _is_loopback(remote: str | None) -> bool:
    try:
        return remote is not None and ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False
