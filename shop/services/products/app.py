from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from shop.db import Slot, database_context
from shop.gateway.cors import enable_cors
from shop.internal import internal_app
from shop.retention import PruneStep, pruning_context
from shop.services import Service, ServiceApps, ServiceContext
from shop.services.products.catalogue import catalogue
from shop.services.products.client import PRODUCTS, LocalProductsClient
from shop.services.products.routes import STORES, internal_routes, routes
from shop.services.products.store import MIGRATIONS, ProductStore


def create_app(ctx: ServiceContext) -> ServiceApps:
    cfg, registry = ctx.cfg, ctx.registry
    stores = Slot[ProductStore]("products")

    async def seed_catalogue(app: web.Application) -> AsyncIterator[None]:
        # Runs after the database context opened the store; a no-op on every later start.
        await stores.get().seed_once(catalogue())
        yield

    app = web.Application()
    app[STORES] = stores
    app.add_routes(routes)
    enable_cors(app, cfg.gateway.cors_origins)
    app.cleanup_ctx.append(
        database_context(cfg.data.dir / "products.db", MIGRATIONS, stores, ProductStore, cfg.data.synchronous)
    )
    app.cleanup_ctx.append(seed_catalogue)
    keep = cfg.retention
    app.cleanup_ctx.append(
        pruning_context(
            keep,
            lambda: [
                PruneStep(
                    "released_reservations",
                    keep.released_reservations_seconds,
                    stores.get().prune_released_reservations,
                ),
            ],
        )
    )

    internal = internal_app(registry.service_token, internal_routes)
    internal[STORES] = stores
    registry.register_local(PRODUCTS, LocalProductsClient(stores), stores.ping)
    return ServiceApps("products", app, internal)


SERVICE = Service(
    name="products",
    create_app=create_app,
    key=PRODUCTS,
    routes=routes,
    databases={"products": MIGRATIONS},
)
