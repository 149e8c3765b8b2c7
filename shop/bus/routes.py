"""What the bus gave up on, for an admin: events a handler failed on max_deliveries times."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from shop.bus import Bus
from shop.gateway.context import require_admin
from shop.jsonutil import json_response
from shop.openapi import operation

BUS_KEY = web.AppKey("event_bus", Bus)

routes = web.RouteTableDef()


class ParkedEventOut(BaseModel):
    topic: str
    group: str
    event_id: str
    type: str
    order_id: Any
    error: str
    attempts: int
    parked_at: str


@routes.get("/api/bus/parked")
@operation(
    "Events the bus gave up on",
    description="Events a consumer failed to handle `[bus] max_deliveries` times, oldest first. "
    "They are kept so nothing is lost silently; the error says why.",
    auth="admin",
    responses={200: list[ParkedEventOut]},
)
async def parked_events(request: web.Request) -> web.Response:
    require_admin(request)
    return json_response(
        [
            ParkedEventOut(
                topic=p.topic,
                group=p.group,
                event_id=p.envelope.event_id,
                type=p.envelope.type,
                order_id=p.envelope.data.get("id"),
                error=p.error,
                attempts=p.attempts,
                parked_at=p.parked_at,
            )
            for p in request.app[BUS_KEY].parked()
        ]
    )
