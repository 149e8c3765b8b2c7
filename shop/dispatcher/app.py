from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from shop.bus.envelope import Envelope
from shop.bus.parking import StoredDeadLetters
from shop.config import ShopConfig
from shop.db import Database, Slot
from shop.dispatcher.client import DISPATCHER as DISPATCHER_SERVICE
from shop.dispatcher.client import LocalDispatcherClient
from shop.dispatcher.routes import DISPATCHER, internal_routes, routes
from shop.dispatcher.store import MIGRATIONS, DispatchStore
from shop.dispatcher.worker import Dispatcher
from shop.gateway.cors import enable_cors
from shop.internal import internal_app
from shop.retention import PruneStep, pruning_context
from shop.services import Service, ServiceApps, ServiceContext

CONSUMER_GROUP = "order-dispatcher-group"


def create_app(ctx: ServiceContext) -> ServiceApps:
    cfg, registry, bus = ctx.cfg, ctx.registry, ctx.bus
    dispatchers = Slot[Dispatcher]("dispatcher")

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        db = await Database.open(cfg.data.dir / "dispatcher.db", MIGRATIONS, cfg.data.synchronous)
        dispatcher = Dispatcher(DispatchStore(db), registry, cfg.dispatcher, cfg.notifications.webhooks)
        dispatchers.set(dispatcher, db.ping)
        dispatcher.start()  # resumes deliveries a previous run left pending
        try:
            yield
        finally:
            await dispatcher.stop()
            dispatchers.clear()
            await db.close()

    async def handle(envelope: Envelope) -> None:
        # Resolved per event: the bus may start delivering before this app's start-up
        # finished; raising then makes the bus deliver the event again.
        await dispatchers.get().handle(envelope)

    dead_letters = StoredDeadLetters("dispatcher", lambda: dispatchers.get().store.db)
    bus.subscribe(cfg.bus.topic, CONSUMER_GROUP, handle, dead_letters)

    app = web.Application()
    app[DISPATCHER] = dispatchers
    app.add_routes(routes)
    enable_cors(app, cfg.gateway.cors_origins)
    app.cleanup_ctx.append(lifecycle)
    keep = cfg.retention
    app.cleanup_ctx.append(
        pruning_context(
            keep,
            lambda: [
                PruneStep("handled_events", keep.handled_events_seconds, dispatchers.get().store.prune_handled_events),
                PruneStep(
                    "finished_deliveries", keep.finished_deliveries_seconds, dispatchers.get().store.prune_finished
                ),
            ],
        )
    )
    internal = internal_app(registry.service_token, internal_routes)
    internal[DISPATCHER] = dispatchers
    registry.register_local(DISPATCHER_SERVICE, LocalDispatcherClient(dispatchers), dispatchers.ping)
    return ServiceApps("dispatcher", app, internal)


def _enabled(cfg: ShopConfig) -> bool:
    return cfg.dispatcher.enabled


SERVICE = Service(
    name="dispatcher",
    create_app=create_app,
    key=DISPATCHER_SERVICE,
    routes=routes,
    calls=("orders",),  # marks orders Dispatched
    uses_bus=True,  # consumes order.created
    databases={"dispatcher": MIGRATIONS},
    enabled=_enabled,
)
