"""create_app(cfg): the root application — the gateway middleware, operations routes, and the
services this process runs, each mounted as a sub-app with its own database."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from shop.bus import Bus, create_bus
from shop.bus.routes import BUS_KEY as BUS
from shop.bus.routes import routes as bus_routes
from shop.config import ShopConfig
from shop.datalock import serving_context
from shop.gateway.cors import enable_cors
from shop.gateway.middleware import gateway_middleware
from shop.gateway.paths import route_original_paths
from shop.gateway.proxy import Forwarder
from shop.gateway.responses import response_hook
from shop.gateway.revocation import TokenRevocations
from shop.gateway.revocation import follow as follow_revocations
from shop.layout import Layout, plan_layout
from shop.metrics import Metrics
from shop.openapi.routes import setup_docs
from shop.ops import METRICS, READINESS_CHECKS, READINESS_DETAILS, REGISTRY
from shop.ops import routes as ops_routes
from shop.registry import Registry
from shop.secrets import persistent_secret
from shop.services import Service, ServiceApps, ServiceContext
from shop.services.auth.client import AUTH
from shop.services.declared import SERVICES
from shop.status import install as install_status
from shop.stuck import report_stuck_orders
from shop.web.routes import add_storefront, revalidate

CONFIG = web.AppKey("config", ShopConfig)
HEALTH_CHECK_INTERVAL = 5.0


def resolve_secrets(cfg: ShopConfig) -> ShopConfig:
    """Fill secrets left empty with ones generated once and kept in the data directory."""
    data_dir = cfg.data.dir
    return cfg.with_changes(
        auth={
            "jwt_secret": cfg.auth.jwt_secret or persistent_secret(data_dir, "jwt_secret"),
            "admin_password": cfg.auth.admin_password or persistent_secret(data_dir, "admin_password"),
        },
        internal={"service_token": cfg.internal.service_token or persistent_secret(data_dir, "service_token")},
        dispatcher={"webhook_secret": cfg.dispatcher.webhook_secret or persistent_secret(data_dir, "webhook_secret")},
    )


def create_app(
    cfg: ShopConfig, services: Collection[str] | None = None, declared: Sequence[Service] = SERVICES
) -> web.Application:
    """`services`: what this process runs (shop.layout); None for every service that has
    no url, and the gateway. `declared`: the services there are, in creation order
    (shop.services.declared); a test may add one. Raises ConfigError for a layout that
    cannot work."""
    layout = plan_layout(cfg, services, declared)
    cfg = resolve_secrets(cfg)
    registry = Registry(cfg.internal.service_token, cfg.gateway.upstream_timeout_seconds)
    metrics = Metrics()
    revocations = TokenRevocations()

    public_paths = frozenset(path for service in declared for path in service.full_paths(service.public_paths))
    login_paths = frozenset(path for service in declared for path in service.full_paths(service.login_paths))
    app = web.Application(
        middlewares=[gateway_middleware(cfg, metrics, revocations, public_paths, login_paths)],
        client_max_size=cfg.gateway.max_body_bytes,
    )
    app.cleanup_ctx.append(serving_context(cfg.data.dir))  # first: no database opens during a restore
    app[CONFIG] = cfg
    app[REGISTRY] = registry
    app[METRICS] = metrics
    app[READINESS_CHECKS] = {}
    app[READINESS_DETAILS] = {}
    # The one response hook: the gateway's headers, CORS, the storefront's caching.
    app.on_response_prepare.append(response_hook(cfg.gateway.cors_origins, [revalidate] if layout.gateway else []))
    route_original_paths(app)  # before enable_cors: /api/token answers cross-origin too
    bus = create_bus(cfg.bus)
    app[BUS] = bus
    app.add_routes(ops_routes)
    if "dispatcher" not in layout.forwarded():  # else its process's dead letters: forwarded below
        app.add_routes(bus_routes)
    install_status(app, cfg)  # GET /api/status: the operator's view
    setup_docs(app, [service.prefix for service in declared])  # /api/openapi.json, /api/docs
    enable_cors(app, cfg.gateway.cors_origins)
    if layout.gateway:  # the public front; a services process serves only APIs
        app.router.add_static("/static", Path(__file__).parent / "web" / "static")
        add_storefront(app)  # GET /: the storefront page; its assets are under /static

    by_name = {service.name: service for service in declared}
    for name, url in layout.remote.items():
        registry.register_remote(by_name[name].key, url)
    app.cleanup_ctx.append(_registry_context(registry))
    if "auth" in layout.remote:  # tokens voided there (a reset, a deleted account) are refused here too
        app.cleanup_ctx.append(follow_revocations(revocations, lambda seq: registry.get(AUTH).revocations_since(seq)))

    # Auth voids tokens in `revocations`, which the gateway of the same process consults.
    context = ServiceContext(cfg, registry, bus, revocations)
    local = [service for service in declared if service.name in layout.local]
    for service in local:  # in the declared order: a start-up may call one created before it
        mount(app, service.create_app(context))
    if any(service.uses_bus for service in local):
        _run_bus(app, bus)
    if "orders" in layout.local or "orders" in layout.remote:
        report_stuck_orders(app, registry, metrics, cfg.dispatcher.stuck_after_seconds)
    _forward_remote_services(app, cfg, registry, layout, by_name)
    return app


def _forward_remote_services(
    app: web.Application, cfg: ShopConfig, registry: Registry, layout: Layout, by_name: Mapping[str, Service]
) -> None:
    """The gateway's side of a split deployment: each remote service's public routes, at
    the same paths, forwarded to its process."""
    names = layout.forwarded()
    if not names:
        return
    forwarder = Forwarder(registry, cfg.gateway)
    app.cleanup_ctx.append(forwarder.context)
    app.on_shutdown.append(forwarder.end_streams)
    for name in names:
        app.add_subapp(f"/api/{name}", forwarder.service_app(name, by_name[name].routes, cfg.gateway.cors_origins))
    if "dispatcher" in names:
        # The dispatcher's consumer parks events in its own database: /api/bus/parked is
        # answered by the process that runs it.
        app.add_routes(_forwarding(forwarder, "dispatcher", bus_routes))


def _forwarding(forwarder: Forwarder, service: str, routes: web.RouteTableDef) -> list[web.RouteDef]:
    def forward_to_service(handler: Any) -> Callable[[web.Request], Any]:
        async def forward(request: web.Request) -> web.StreamResponse:
            return await forwarder.forward(request, service)

        return functools.update_wrapper(forward, handler)  # keeps the OpenAPI description

    return [
        web.RouteDef(route.method, route.path, forward_to_service(route.handler), route.kwargs)
        for route in routes
        if isinstance(route, web.RouteDef)
    ]


def _run_bus(app: web.Application, bus: Bus) -> None:
    """Start the bus after every service started (so consumers find their databases open)
    and stop it at shutdown, after the services' own on_shutdown stopped their relays and
    before any database closes."""

    async def start(app: web.Application) -> None:
        await bus.start()

    async def stop(app: web.Application) -> None:
        await bus.stop()

    app.on_startup.append(start)
    app.on_shutdown.append(stop)
    app[READINESS_CHECKS]["bus"] = bus.ping


def mount(app: web.Application, service: ServiceApps) -> None:
    app.add_subapp(f"/api/{service.name}", service.public)
    if service.internal is not None:
        app.add_subapp(f"/internal/{service.name}", service.internal)


def _registry_context(registry: Registry) -> Callable[[web.Application], AsyncIterator[None]]:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        await registry.start()
        watcher = asyncio.create_task(registry.watch(HEALTH_CHECK_INTERVAL))
        yield
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await registry.close()

    return ctx
