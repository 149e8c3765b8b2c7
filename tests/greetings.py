"""A throwaway sixth service, declared the way the shop's own are (shop/services/declared.py):
its own public routes described for OpenAPI, its own SQLite database, its own registry key.
tests/test_service_declaration.py builds the shop with it."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from shop.db import Database, Migration, Slot, database_context
from shop.jsonutil import json_response
from shop.openapi import operation
from shop.registry import ServiceKey
from shop.services import Service, ServiceApps, ServiceContext

MIGRATIONS: list[Migration] = [
    "CREATE TABLE greetings (id INTEGER PRIMARY KEY, text TEXT NOT NULL);"
    "INSERT INTO greetings (text) VALUES ('Hello from the sixth service');"
]


class GreetingStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def greeting(self) -> str:
        text: str = await self.db.fetch_value("SELECT text FROM greetings ORDER BY id LIMIT 1")
        return text


class Greeting(BaseModel):
    greeting: str


STORES = web.AppKey("greeting_stores", Slot[GreetingStore])
# No other service calls it: its clients need no interface, the store here, the bare
# endpoint for a process that reaches it over HTTP.
GREETINGS = ServiceKey[object]("greetings", lambda endpoint: endpoint)

routes = web.RouteTableDef()


@routes.get("/hello")
@operation("A greeting, read from the service's own database", tags=["greetings"], responses={200: Greeting})
async def hello(request: web.Request) -> web.Response:
    return json_response(Greeting(greeting=await request.app[STORES].get().greeting()))


@routes.post("/knock")
@operation("Knock: limited per address like a login", responses={204: None})
async def knock(request: web.Request) -> web.Response:
    return web.Response(status=204)


def create_app(ctx: ServiceContext) -> ServiceApps:
    cfg = ctx.cfg
    stores = Slot[GreetingStore]("greetings")
    app = web.Application()
    app[STORES] = stores
    app.add_routes(routes)
    app.cleanup_ctx.append(
        database_context(cfg.data.dir / "greetings.db", MIGRATIONS, stores, GreetingStore, cfg.data.synchronous)
    )
    ctx.registry.register_local(GREETINGS, stores, stores.ping)
    return ServiceApps("greetings", app)


SERVICE = Service(
    name="greetings",
    create_app=create_app,
    key=GREETINGS,
    routes=routes,
    login_paths=("/knock",),
    databases={"greetings": MIGRATIONS},
)
