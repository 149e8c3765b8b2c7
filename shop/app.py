"""create_app(cfg): the root application — the gateway middleware, operations routes, and the
services this process runs, each mounted as a sub-app with its own database."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable, Collection
from pathlib import Path
from typing import Any

from aiohttp import web

from shop.bus import Bus, create_bus
from shop.bus.routes import BUS_KEY as BUS
from shop.bus.routes import routes as bus_routes
from shop.config import ShopConfig
from shop.datalock import serving_context
from shop.dispatcher import app as dispatcher_app
from shop.dispatcher import routes as dispatcher_routes
from shop.dispatcher.client import DISPATCHER
from shop.gateway.access import add_response_headers
from shop.gateway.cors import enable_cors, enable_cors_off_route
from shop.gateway.middleware import gateway_middleware
from shop.gateway.paths import route_original_paths
from shop.gateway.proxy import Forwarder
from shop.gateway.revocation import TokenRevocations
from shop.gateway.revocation import follow as follow_revocations
from shop.layout import Layout, plan_layout
from shop.metrics import Metrics
from shop.openapi.routes import setup_docs
from shop.ops import METRICS, READINESS_CHECKS, READINESS_DETAILS, REGISTRY
from shop.ops import routes as ops_routes
from shop.registry import Registry, ServiceKey
from shop.secrets import persistent_secret
from shop.services import ServiceApps
from shop.services.auth import app as auth_app
from shop.services.auth import routes as auth_routes
from shop.services.auth.client import AUTH
from shop.services.customers import app as customers_app
from shop.services.customers import routes as customers_routes
from shop.services.customers.client import CUSTOMERS
from shop.services.orders import app as orders_app
from shop.services.orders import routes as orders_routes
from shop.services.orders.client import ORDERS
from shop.services.products import app as products_app
from shop.services.products import routes as products_routes
from shop.services.products.client import PRODUCTS
from shop.status import install as install_status
from shop.stuck import report_stuck_orders
from shop.web.routes import add_storefront

CONFIG = web.AppKey("config", ShopConfig)
HEALTH_CHECK_INTERVAL = 5.0

ServiceFactory = Callable[[ShopConfig, Registry, Bus], ServiceApps]


def _without_bus(factory: Callable[[ShopConfig, Registry], ServiceApps]) -> ServiceFactory:
    return lambda cfg, registry, bus: factory(cfg, registry)


def local_factories(revocations: TokenRevocations) -> dict[str, ServiceFactory]:
    """Creation order matters: a service's start-up may call one created before it (auth
    creates the admin's customer profile). Auth voids tokens in `revocations`, which the
    gateway of the same process consults (shop/gateway/revocation.py)."""
    return {
        "customers": _without_bus(customers_app.create_app),
        "products": _without_bus(products_app.create_app),
        "auth": lambda cfg, registry, bus: auth_app.create_app(cfg, registry, revocations),
        "orders": orders_app.create_app,
        "dispatcher": dispatcher_app.create_app,
    }


REMOTE_KEYS: dict[str, ServiceKey[Any]] = {
    "auth": AUTH,
    "customers": CUSTOMERS,
    "products": PRODUCTS,
    "orders": ORDERS,
    "dispatcher": DISPATCHER,
}
# Each service's public routes: what the gateway forwards when the service runs elsewhere.
PUBLIC_ROUTES: dict[str, web.RouteTableDef] = {
    "auth": auth_routes.routes,
    "customers": customers_routes.routes,
    "products": products_routes.routes,
    "orders": orders_routes.routes,
    "dispatcher": dispatcher_routes.routes,
}
# Services that publish to or consume from the bus.
BUS_USERS = frozenset({"orders", "dispatcher"})


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


def create_app(cfg: ShopConfig, services: Collection[str] | None = None) -> web.Application:
    """`services`: what this process runs (shop.layout); None for every service that has
    no url, and the gateway. Raises ConfigError for a layout that cannot work."""
    layout = plan_layout(cfg, services)
    cfg = resolve_secrets(cfg)
    registry = Registry(cfg.internal.service_token, cfg.gateway.upstream_timeout_seconds)
    metrics = Metrics()
    revocations = TokenRevocations()
    factories = local_factories(revocations)

    app = web.Application(
        middlewares=[gateway_middleware(cfg, metrics, revocations)], client_max_size=cfg.gateway.max_body_bytes
    )
    app.cleanup_ctx.append(serving_context(cfg.data.dir))  # first: no database opens during a restore
    app[CONFIG] = cfg
    app[REGISTRY] = registry
    app[METRICS] = metrics
    app[READINESS_CHECKS] = {}
    app[READINESS_DETAILS] = {}
    app.on_response_prepare.append(add_response_headers)
    route_original_paths(app)  # before enable_cors: /api/token answers cross-origin too
    bus = create_bus(cfg.bus)
    app[BUS] = bus
    app.add_routes(ops_routes)
    if "dispatcher" not in layout.forwarded():  # else its process's dead letters: forwarded below
        app.add_routes(bus_routes)
    install_status(app, cfg)  # GET /api/status: the operator's view
    setup_docs(app)  # /api/openapi.json, /api/docs
    enable_cors(app, cfg.gateway.cors_origins)
    enable_cors_off_route(app, cfg.gateway.cors_origins)
    if layout.gateway:  # the public front; a services process serves only APIs
        app.router.add_static("/static", Path(__file__).parent / "web" / "static")
        add_storefront(app)  # GET /: the storefront page; its assets are under /static

    for name, url in layout.remote.items():
        registry.register_remote(REMOTE_KEYS[name], url)
    app.cleanup_ctx.append(_registry_context(registry))
    if "auth" in layout.remote:  # tokens voided there (a reset, a deleted account) are refused here too
        app.cleanup_ctx.append(follow_revocations(revocations, lambda seq: registry.get(AUTH).revocations_since(seq)))

    for name in factories:
        if name in layout.local:
            mount(app, factories[name](cfg, registry, bus))
    if BUS_USERS & layout.local:
        _run_bus(app, bus)
    if "orders" in layout.local or "orders" in layout.remote:
        report_stuck_orders(app, registry, metrics, cfg.dispatcher.stuck_after_seconds)
    _forward_remote_services(app, cfg, registry, layout)
    return app


def _forward_remote_services(app: web.Application, cfg: ShopConfig, registry: Registry, layout: Layout) -> None:
    """The gateway's side of a split deployment: each remote service's public routes, at
    the same paths, forwarded to its process."""
    names = layout.forwarded()
    if not names:
        return
    forwarder = Forwarder(registry, cfg.gateway)
    app.cleanup_ctx.append(forwarder.context)
    app.on_shutdown.append(forwarder.end_streams)
    for name in names:
        app.add_subapp(f"/api/{name}", forwarder.service_app(name, PUBLIC_ROUTES[name], cfg.gateway.cors_origins))
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


def _registry_context(registry: Registry):  # type: ignore[no-untyped-def]
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        await registry.start()
        watcher = asyncio.create_task(registry.watch(HEALTH_CHECK_INTERVAL))
        yield
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await registry.close()

    return ctx
