from __future__ import annotations

from aiohttp import web

from shop.db import Slot, database_context
from shop.gateway.cors import enable_cors
from shop.internal import internal_app
from shop.services import Service, ServiceApps, ServiceContext
from shop.services.customers.client import CUSTOMERS, LocalCustomersClient
from shop.services.customers.routes import REGISTRY, STORES, internal_routes, routes
from shop.services.customers.store import MIGRATIONS, CustomerStore


def create_app(ctx: ServiceContext) -> ServiceApps:
    cfg, registry = ctx.cfg, ctx.registry
    stores = Slot[CustomerStore]("customers")
    app = web.Application()
    app[STORES] = stores
    app[REGISTRY] = registry
    app.add_routes(routes)
    enable_cors(app, cfg.gateway.cors_origins)
    app.cleanup_ctx.append(
        database_context(cfg.data.dir / "customers.db", MIGRATIONS, stores, CustomerStore, cfg.data.synchronous)
    )

    internal = internal_app(registry.service_token, internal_routes)
    internal[STORES] = stores
    registry.register_local(CUSTOMERS, LocalCustomersClient(stores), stores.ping)
    return ServiceApps("customers", app, internal)


SERVICE = Service(
    name="customers",
    create_app=create_app,
    key=CUSTOMERS,
    routes=routes,
    calls=("auth",),  # a deleted or renamed customer's login follows
    databases={"customers": MIGRATIONS},
)
