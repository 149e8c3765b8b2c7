from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from shop.bus.outbox import OutboxRelay
from shop.clock import utc_now
from shop.db import Database, Slot
from shop.gateway.cors import enable_cors
from shop.internal import internal_app
from shop.retention import PruneStep, pruning_context
from shop.services import Service, ServiceApps, ServiceContext
from shop.services.orders.client import ORDERS as ORDERS_SERVICE
from shop.services.orders.client import LocalOrdersClient
from shop.services.orders.live import StatusBroadcaster
from shop.services.orders.routes import BROADCASTER, ORDERS, WATCHDOG, internal_routes, routes
from shop.services.orders.service import Orders
from shop.services.orders.store import MIGRATIONS, OrderStore
from shop.services.orders.watchdog import Watchdog

log = logging.getLogger("shop.orders")

RECONCILE_SECONDS = 5.0
# Far longer than any request waits for the products service.
ABANDONED_AFTER_SECONDS = 300


def create_app(ctx: ServiceContext) -> ServiceApps:
    cfg, registry, bus = ctx.cfg, ctx.registry, ctx.bus
    orders = Slot[Orders]("orders")
    broadcaster = StatusBroadcaster()
    relay: OutboxRelay | None = None

    def wake_relay() -> None:
        if relay is not None:
            relay.wake()

    watchdog = Watchdog(lambda: orders.get().store, registry, cfg.dispatcher.stuck_after_seconds, wake_relay)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        nonlocal relay
        db = await Database.open(cfg.data.dir / "orders.db", MIGRATIONS, cfg.data.synchronous)
        store = OrderStore(db, cfg.bus.topic)
        relay = OutboxRelay(store, bus)
        service = Orders(store, registry, broadcaster, relay.wake)
        orders.set(service, db.ping)
        # Nothing is in flight yet: any reservation still 'pending' was left by a crash.
        await service.release_leftovers(pending_before=utc_now())
        if cfg.bus.relay_enabled:
            relay.start()  # first publishes whatever a crash left in the outbox
        reconciler = asyncio.create_task(_reconcile(service), name="orders-reconciler")
        watchdog.start()
        try:
            yield
        finally:
            await watchdog.stop()
            reconciler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reconciler
            await relay.stop()
            orders.clear()
            await db.close()

    async def stop_streams_and_relay(app: web.Application) -> None:
        # on_shutdown runs before any cleanup: end SSE streams so the server need not wait
        # for them, and stop publishing before the root app closes the bus.
        broadcaster.close_all()
        if relay is not None:
            await relay.stop()

    app = web.Application()
    app[ORDERS] = orders
    app[BROADCASTER] = broadcaster
    app[WATCHDOG] = watchdog
    app.add_routes(routes)
    enable_cors(app, cfg.gateway.cors_origins)
    app.cleanup_ctx.append(lifecycle)
    keep = cfg.retention
    app.cleanup_ctx.append(
        pruning_context(
            keep,
            lambda: [
                PruneStep("idempotency_keys", keep.idempotency_keys_seconds, orders.get().store.prune_idempotency_keys),
                PruneStep("published_outbox", keep.published_outbox_seconds, orders.get().store.prune_published_outbox),
            ],
        )
    )
    app.on_shutdown.append(stop_streams_and_relay)

    internal = internal_app(registry.service_token, internal_routes)
    internal[ORDERS] = orders
    internal[BROADCASTER] = broadcaster
    internal[WATCHDOG] = watchdog
    registry.register_local(ORDERS_SERVICE, LocalOrdersClient(orders, watchdog), orders.ping)
    return ServiceApps("orders", app, internal)


SERVICE = Service(
    name="orders",
    create_app=create_app,
    key=ORDERS_SERVICE,
    routes=routes,
    calls=("products", "customers"),  # prices and stock; the customer must still exist
    uses_bus=True,  # publishes order.created, through the outbox
    databases={"orders": MIGRATIONS},
)


async def _reconcile(service: Orders) -> None:
    """Give back stock whose release failed earlier (products was down, say), and settle
    the reservations of orders dispatched since the last round."""
    while True:
        await asyncio.sleep(RECONCILE_SECONDS)
        try:
            # A pending reservation this old has no request waiting on it any more.
            await service.release_leftovers(pending_before=utc_now(ABANDONED_AFTER_SECONDS))
            await service.settle_dispatched()
        except Exception:
            log.exception("stock reconciliation failed; will retry")
