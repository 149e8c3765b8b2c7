"""A real HTTP server on loopback standing in for the warehouse or shipping system."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookTarget:
    server: TestServer
    received: list[Received] = field(default_factory=list)
    status: int = 200  # what it answers; set to 503 to play a target that is down
    # Answer 503 for orders with any of these products only (known before the order exists,
    # so no delivery can slip through before the test sets it).
    failing_products: set[int] = field(default_factory=set)

    def order_ids(self) -> list[int]:
        return [json.loads(r.body)["data"]["id"] for r in self.received]

    @property
    def url(self) -> str:
        return str(self.server.make_url("/hook"))


async def start_webhook_target() -> WebhookTarget:
    app = web.Application()
    target: WebhookTarget

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        target.received.append(Received(dict(request.headers), body))
        items = json.loads(body)["data"].get("items", [])  # a notification about no order has none
        if any(item["product_id"] in target.failing_products for item in items):
            return web.Response(status=503)
        return web.Response(status=target.status)

    app.router.add_post("/hook", hook)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    target = WebhookTarget(server)
    return target
