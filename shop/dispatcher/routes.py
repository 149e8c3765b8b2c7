from __future__ import annotations

from typing import Literal, get_args

from aiohttp import web

from shop.bus.envelope import Envelope
from shop.db import Slot
from shop.dispatcher.store import Delivery
from shop.dispatcher.worker import Dispatcher
from shop.errors import FieldError, ValidationFailed
from shop.gateway.context import require_admin
from shop.jsonutil import json_response
from shop.openapi import Param, operation
from shop.paging import Page
from shop.pathparams import path_id

DISPATCHER = web.AppKey("dispatcher", Slot[Dispatcher])
DeliveryStatus = Literal["pending", "delivered", "failed"]
STATUSES: tuple[str, ...] = get_args(DeliveryStatus)

routes = web.RouteTableDef()
internal_routes = web.RouteTableDef()


@routes.get("/deliveries")
@operation(
    "List webhook deliveries",
    auth="admin",
    query=[Param("status", DeliveryStatus, "Only deliveries with this status.")],
    responses={200: list[Delivery]},
    paged=True,
)
async def list_deliveries(request: web.Request) -> web.Response:
    require_admin(request)
    status = request.query.get("status")
    if status is not None and status not in STATUSES:
        raise ValidationFailed(
            f"status must be one of {', '.join(STATUSES)}.", [FieldError(("query", "status"), "unknown status")]
        )
    page = Page.from_request(request)
    deliveries, total = await request.config_dict[DISPATCHER].get().store.list_page(status, page.limit, page.offset)
    return json_response(deliveries, headers=page.headers(request, total))


@routes.post("/deliveries/{delivery_id}/retry")
@operation(
    "Retry a delivery now",
    description="Gives a pending or failed delivery another round of attempts, starting now.",
    auth="admin",
    path=[Param("delivery_id", int, "The delivery's id.")],
    responses={202: Delivery},
    errors={409: "The delivery was delivered already."},
)
async def retry_delivery(request: web.Request) -> web.Response:
    require_admin(request)
    delivery_id = path_id(request, "delivery_id")
    dispatcher = request.config_dict[DISPATCHER].get()
    delivery = await dispatcher.store.retry(delivery_id, dispatcher.cfg.max_attempts)
    dispatcher.wake()
    return json_response(delivery, status=202)


@internal_routes.post("/notifications")
async def internal_notify(request: web.Request) -> web.Response:
    """A service's notification about no order (shop/dispatcher/client.py)."""
    try:
        envelope = Envelope.from_json(await request.read())
    except ValueError as exc:
        raise ValidationFailed(str(exc), [FieldError(("body",), str(exc))]) from None
    await request.config_dict[DISPATCHER].get().notify(envelope)
    return web.Response(status=204)


# -- service-to-service (orders' timeline and watchdog, through the registry) -----------------


@internal_routes.get("/orders/{order_id}")
async def internal_report(request: web.Request) -> web.Response:
    return json_response(await request.config_dict[DISPATCHER].get().store.report(path_id(request, "order_id")))
