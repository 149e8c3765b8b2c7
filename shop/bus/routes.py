"""What the bus gave up on, for an admin: events a handler failed on max_deliveries times."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from shop.bus import Bus, ParkedEvent
from shop.gateway.context import require_admin
from shop.jsonutil import json_response
from shop.openapi import Param, operation

BUS_KEY = web.AppKey("event_bus", Bus)

routes = web.RouteTableDef()


class ParkedEventOut(BaseModel):
    id: str  # "<store>.<number>": what replay and discard take
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
    "They are kept in the consumer's database (they survive a restart) so nothing is lost "
    "silently; the error says why.",
    auth="admin",
    responses={200: list[ParkedEventOut]},
)
async def parked_events(request: web.Request) -> web.Response:
    require_admin(request)
    return json_response([_out(p) for p in await request.app[BUS_KEY].parked()])


@routes.post("/api/bus/parked/{parked_id}/replay")
@operation(
    "Replay a parked event",
    description="Hands the event to its consumer once more. Gone from the list once it succeeds; "
    "if it fails again, 409 with the new error (and one more attempt counted).",
    auth="admin",
    path=[Param("parked_id", str, "The parked event's id, e.g. dispatcher.3.")],
    responses={200: ParkedEventOut},
    errors={404: "No such parked event.", 409: "The consumer failed again, or does not run in this process."},
)
async def replay_parked(request: web.Request) -> web.Response:
    require_admin(request)
    return json_response(_out(await request.app[BUS_KEY].replay(request.match_info["parked_id"])))


@routes.delete("/api/bus/parked/{parked_id}")
@operation(
    "Discard a parked event",
    auth="admin",
    path=[Param("parked_id", str, "The parked event's id, e.g. dispatcher.3.")],
    responses={204: None},
    errors={404: "No such parked event."},
)
async def discard_parked(request: web.Request) -> web.Response:
    require_admin(request)
    await request.app[BUS_KEY].discard(request.match_info["parked_id"])
    return web.Response(status=204)


def _out(p: ParkedEvent) -> ParkedEventOut:
    return ParkedEventOut(
        id=p.id,
        topic=p.topic,
        group=p.group,
        event_id=p.envelope.event_id,
        type=p.envelope.type,
        order_id=p.envelope.data.get("id"),
        error=p.error,
        attempts=p.attempts,
        parked_at=p.parked_at,
    )
