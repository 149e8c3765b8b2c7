"""Operations endpoints on the root app: health, readiness, the registry, metrics."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from typing import Literal

from aiohttp import web
from pydantic import BaseModel

from shop.gateway.context import optional_caller, request_id, require_admin
from shop.jsonutil import json_response
from shop.metrics import Metrics
from shop.openapi import Content, operation
from shop.problems import problem_response
from shop.registry import Registry

REGISTRY = web.AppKey("registry", Registry)
METRICS = web.AppKey("metrics", Metrics)
# Extra readiness checks beyond the registry's services (the bus, for one): name -> probe.
READINESS_CHECKS = web.AppKey("readiness_checks", dict[str, Callable[[], Awaitable[bool]]])
# Things an operator should know that do not make the shop unready (stuck orders): name ->
# a probe answering a line, or None when there is nothing to say.
READINESS_DETAILS = web.AppKey("readiness_details", dict[str, Callable[[], Awaitable[str | None]]])

routes = web.RouteTableDef()


# The bodies' shapes, for the OpenAPI document.
class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]
    checks: dict[str, bool]
    details: dict[str, str] = {}  # worth an operator's look, but no reason to be unready


class RegistryEntry(BaseModel):
    name: str
    location: str  # "local" or the remote service's base URL
    healthy: bool
    checked_at: str


@routes.get("/health")
@operation("Liveness: the process runs", tags=["operations"], responses={200: Health})
async def health(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


@routes.get("/ready")
@operation(
    "Readiness: every database, the bus and every remote service answer",
    tags=["operations"],
    responses={200: Readiness},
    errors={503: "Not ready: the extension member `checks` says which check failed."},
)
async def ready(request: web.Request) -> web.Response:
    registry = request.app[REGISTRY]
    await registry.check_all()
    checks = {entry.name: entry.healthy for entry in registry.entries()}
    for name, probe in request.app[READINESS_CHECKS].items():
        checks[name] = await probe()
    details = {}
    for name, describe in request.app.get(READINESS_DETAILS, {}).items():
        line = await describe()
        if line:
            details[name] = line
    failing = sorted(name for name, ok in checks.items() if not ok)
    if failing:
        return problem_response(
            503,
            f"Not ready: {', '.join(failing)}.",
            request_id=request_id(request),
            extensions={"checks": checks, "details": details},  # RFC 9457 extension members
        )
    return json_response({"status": "ready", "checks": checks, "details": details})


@routes.get("/api/registry")
@operation(
    "The services: where each runs and whether it is healthy",
    auth="admin",
    tags=["operations"],
    responses={200: list[RegistryEntry]},
)
async def registry_entries(request: web.Request) -> web.Response:
    require_admin(request)
    return json_response(
        [
            {"name": e.name, "location": e.location, "healthy": e.healthy, "checked_at": e.checked_at}
            for e in request.app[REGISTRY].entries()
        ]
    )


@routes.get("/metrics")
@operation(
    "Prometheus metrics",
    description="Open to callers on loopback; from anywhere else, administrators only.",
    auth="optional",
    tags=["operations"],
    responses={200: Content(media_type="text/plain", description="Prometheus text exposition format.")},
    errors=[401, 403],
)
async def metrics(request: web.Request) -> web.Response:
    caller = optional_caller(request)
    if not _is_loopback(request.remote) and not (caller and caller.is_admin):
        require_admin(request)
    await request.app[METRICS].refresh()
    return request.app[METRICS].render()


def _is_loopback(remote: str | None) -> bool:
    try:
        return remote is not None and ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False
