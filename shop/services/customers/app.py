from __future__ import annotations

from aiohttp import web

from shop.config import ShopConfig
from shop.db import Slot, database_context
from shop.gateway.cors import enable_cors
from shop.internal import internal_app
from shop.registry import Registry
from shop.services import ServiceApps
from shop.services.customers.client import CUSTOMERS, LocalCustomersClient
from shop.services.customers.routes import REGISTRY, STORES, internal_routes, routes
from shop.services.customers.store import MIGRATIONS, CustomerStore


def create_app(cfg: ShopConfig, registry: Registry) -> ServiceApps:
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
