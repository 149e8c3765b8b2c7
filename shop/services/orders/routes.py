from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from aiohttp import web
from pydantic import Field, TypeAdapter

from shop.db import Slot
from shop.errors import FieldError, ShopError, ValidationFailed
from shop.gateway.bodies import parse_model, read_json
from shop.gateway.context import Caller, require_admin, require_caller, require_owner_or_admin
from shop.jsonutil import dumps, json_response
from shop.openapi import Content, Param, operation
from shop.paging import Page
from shop.pathparams import MAX_ID, parse_id, path_id
from shop.readcache import Answer
from shop.services.orders.live import StatusBroadcaster
from shop.services.orders.models import (
    Order,
    OrderAnswer,
    OrderCreate,
    OrderLines,
    PlacedFromOriginalBody,
    StatusData,
    StatusEvent,
)
from shop.services.orders.original import placed_from_original_body, with_original_fields
from shop.services.orders.service import Orders
from shop.services.orders.store import OrderDocument
from shop.services.orders.timeline import Timeline, timeline
from shop.services.orders.watchdog import StuckOrder, Watchdog
from shop.services.products.client import PRODUCTS
from shop.urls import absolute_url, request_origin

ORDERS = web.AppKey("orders", Slot[Orders])
BROADCASTER = web.AppKey("status_broadcaster", StatusBroadcaster)

KEEPALIVE_SECONDS = 15.0
# Status events after an SSE id.
EventQuery = Callable[[int], Awaitable[list[StatusEvent]]]
# The same for a client's first request: None when it sent no Last-Event-ID.
BacklogQuery = Callable[[int | None], Awaitable[list[StatusEvent]]]
MAX_IDEMPOTENCY_KEY = 200

routes = web.RouteTableDef()
internal_routes = web.RouteTableDef()
WATCHDOG = web.AppKey("watchdog", Watchdog)

ORDER_ID = Param("order_id", int, "The order's id.")
LAST_EVENT_ID = Param(
    "Last-Event-ID",
    Annotated[int, Field(ge=0, le=MAX_ID)],
    "Resume after this event id: every change since is sent first.",
)
IDEMPOTENCY_KEY = Param(
    "Idempotency-Key",
    Annotated[str, Field(min_length=1, max_length=MAX_IDEMPOTENCY_KEY)],
    f"Makes retries safe: 1 to {MAX_IDEMPOTENCY_KEY} characters, per customer.",
)
# One event of the stream, as OpenAPI 3.1 describes a text/event-stream's `schema`: its
# fields, with `data` a JSON document of its own (contentMediaType and contentSchema).
STATUS_EVENT = {
    "type": "object",
    "required": ["event", "id", "data"],
    "properties": {
        "event": {"const": "status"},
        "id": {"type": "string", "pattern": "^[0-9]+$", "description": "Increases; send it back as Last-Event-ID."},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": TypeAdapter(StatusData).json_schema(),
        },
        "retry": {"type": "integer", "minimum": 0, "description": "Milliseconds to wait before reconnecting."},
    },
}
STATUS_STREAM = Content(
    STATUS_EVENT,
    media_type="text/event-stream",
    description="`event: status` with `data: {id, status, updated_at}` and an increasing `id:`; "
    "first the current status (or everything after Last-Event-ID), then every change.",
)


def _orders(request: web.Request) -> Orders:
    return request.config_dict[ORDERS].get()


def _order_id(request: web.Request) -> int:
    return path_id(request, "order_id")


def _actor(caller: Caller) -> str:
    return f"{caller.role}:{caller.user_id}"


async def _visible_order(request: web.Request) -> tuple[Order, Caller]:
    require_caller(request)  # first: without a token, an id's existence reveals nothing
    order = await _orders(request).store.get(_order_id(request))
    caller = require_owner_or_admin(request, order.customer_id, "Order")
    return order, caller


@routes.post("")
@operation(
    "Place an order",
    description="Prices come from the catalogue and stock is reserved atomically. Also accepts a "
    "bare array of lines (the original UI's form); `customer_id`, `per_cost`, `total_cost` and "
    "`status` in a line are ignored. With `Idempotency-Key`, a retry with the same body returns "
    "the same order (200) and creates nothing.",
    auth="customer",
    body=OrderCreate | OrderLines,
    headers=[IDEMPOTENCY_KEY],
    responses={
        201: Content(
            OrderAnswer | PlacedFromOriginalBody,
            headers={"Location": "The new order's URL."},
            description="For the original UI's bare array, also `message`, `order_count` (1) and `order_ids`.",
        ),
        200: Content(
            OrderAnswer | PlacedFromOriginalBody, description="A retry with the same Idempotency-Key and body."
        ),
    },
    errors={409: "Not enough stock (nothing reserved), or the Idempotency-Key was used with another body."},
)
async def place_order(request: web.Request) -> web.Response:
    caller = require_caller(request)
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (0 < len(key) <= MAX_IDEMPOTENCY_KEY):
        raise ValidationFailed(
            "Idempotency-Key must be 1 to 200 characters.",
            [FieldError(("header", "Idempotency-Key"), "invalid length")],
        )
    data: Any = await read_json(request)
    # The original UI posted a bare array of lines.
    original_body = isinstance(data, list)
    body = parse_model({"items": data} if original_body else data, OrderCreate)
    order, created = await _orders(request).place(caller.user_id, body, _actor(caller), key)
    (document,) = await _enrich(request, [order.model_dump(mode="json")])
    if original_body:
        document = placed_from_original_body(document)
    return json_response(document, status=201 if created else 200, headers={"Location": f"/api/orders/{order.id}"})


@routes.get("")
@operation(
    "List orders",
    description="The caller's orders, newest first, each line with the product's current name and "
    "first image. An admin sees every order and may filter by `customer_id`.",
    auth="customer",
    query=[Param("customer_id", int, "Admins only: one customer's orders.")],
    responses={200: list[OrderAnswer]},
    paged=True,
)
async def list_orders(request: web.Request) -> web.Response:
    caller = require_caller(request)
    page = Page.from_request(request)
    # Checked for everyone (a malformed query is a 422 whoever sends it), used for admins.
    raw = request.query.get("customer_id")
    wanted = None if raw is None else parse_id(raw)
    if raw is not None and not wanted:
        raise ValidationFailed(
            "customer_id must be a customer id.", [FieldError(("query", "customer_id"), "must be an id")]
        )
    customer_id: int | None = wanted if caller.is_admin else caller.user_id
    service = _orders(request)

    async def load() -> Answer:
        orders, total = await service.store.list_page(customer_id, page.limit, page.offset)
        return Answer(dumps(await _enrich(request, orders)), page.headers(request, total))

    # The caller's scope and the query string as sent: the same page, and the same Link header.
    # And the origin called, which image URLs name.
    key = (customer_id, caller.is_admin, request_origin(request), request.query_string)
    answer = await service.list_answer(key, load)
    return web.Response(body=answer.body, content_type="application/json", headers=answer.headers)


async def _enrich(request: web.Request, orders: list[OrderDocument]) -> list[OrderDocument]:
    """Each line shows the product's current name and first image, and each order the
    original system's per-order fields (shop/services/orders/original.py)."""
    return [with_original_fields(order) for order in await _with_current_labels(request, orders)]


async def _with_current_labels(request: web.Request, orders: list[OrderDocument]) -> list[OrderDocument]:
    """If the catalogue is unreachable the orders still show, with the names they were
    bought under."""
    ids = {line["product_id"] for order in orders for line in order["items"]}
    if not ids:
        return orders
    try:
        labels = await request.config_dict[ORDERS].get().registry.get(PRODUCTS).labels(ids)
    except ShopError:
        # Down, slow or confused: the order (maybe just committed) must still be answered.
        return orders
    origin = request_origin(request)
    for order in orders:
        for line in order["items"]:
            label = labels.get(line["product_id"])
            if label is not None:
                name, image = label
                line["name"], line["image"] = name, image and absolute_url(image, origin)
    return orders


async def _answer(request: web.Request, order: Order, **kwargs: Any) -> web.Response:
    """One order, enriched, as the answer."""
    (document,) = await _enrich(request, [order.model_dump(mode="json")])
    return json_response(document, **kwargs)


@routes.get("/events")
@operation(
    "Live status of all the caller's orders",
    description="For an admin: of every order (first the current status of the newest 200).",
    auth="customer",
    headers=[LAST_EVENT_ID],
    responses={200: STATUS_STREAM},
)
async def my_order_events(request: web.Request) -> web.StreamResponse:
    caller = require_caller(request)
    store = _orders(request).store
    # An admin's order list shows everyone's orders, so their stream covers them all.
    customer_id = None if caller.is_admin else caller.user_id

    async def backlog(after: int | None) -> list[StatusEvent]:
        if after is None:
            return await store.current_statuses(customer_id)
        return await store.customer_events(customer_id, after)

    async def since(after: int) -> list[StatusEvent]:
        return await store.customer_events(customer_id, after)

    return await _stream(request, customer_id, backlog, since, lambda e: e.global_id)


@routes.get("/stuck")
@operation(
    "Orders stuck in Created",
    description="Orders still Created `[dispatcher] stuck_after_seconds` after they were placed, oldest "
    "first, with the likeliest reason (bus down, target failing, event parked).",
    auth="admin",
    responses={200: list[StuckOrder]},
)
async def stuck_orders(request: web.Request) -> web.Response:
    require_admin(request)
    return json_response(request.config_dict[WATCHDOG].stuck)


@routes.get("/{order_id}/timeline")
@operation(
    "Why an order is where it is",
    description="Every status change (time, cause, actor), the events published, every webhook call "
    "(target, status code, duration) and what the stuck-order watchdog noticed, oldest first.",
    auth="owner_or_admin",
    path=[ORDER_ID],
    responses={200: Timeline},
)
async def order_timeline(request: web.Request) -> web.Response:
    order, _ = await _visible_order(request)
    return json_response(await timeline(_orders(request).store, _orders(request).registry, order.id))


@routes.get("/{order_id}")
@operation("Get an order", auth="owner_or_admin", path=[ORDER_ID], responses={200: OrderAnswer})
async def get_order(request: web.Request) -> web.Response:
    order, _ = await _visible_order(request)
    return await _answer(request, order)


@routes.post("/{order_id}/cancel")
@operation(
    "Cancel an order",
    description="Only from Created; the reserved stock is returned.",
    auth="owner_or_admin",
    path=[ORDER_ID],
    responses={200: OrderAnswer},
    errors={409: "The order is not Created any more."},
)
async def cancel_order(request: web.Request) -> web.Response:
    order, caller = await _visible_order(request)
    if not caller.is_admin:
        await _orders(request).require_customer(caller.user_id)
    return await _answer(request, await _orders(request).cancel(order.id, _actor(caller)))


@routes.get("/{order_id}/events")
@operation(
    "Live status of one order",
    auth="owner_or_admin",
    path=[ORDER_ID],
    headers=[LAST_EVENT_ID],
    responses={200: STATUS_STREAM},
)
async def order_events(request: web.Request) -> web.StreamResponse:
    order, _ = await _visible_order(request)
    store = _orders(request).store

    async def backlog(after: int | None) -> list[StatusEvent]:
        events = await store.order_events(order.id, after or 0)
        return events[-1:] if after is None else events  # first the current status

    async def since(after: int) -> list[StatusEvent]:
        return await store.order_events(order.id, after)

    return await _stream(request, order.customer_id, backlog, since, lambda e: e.seq)


async def _stream(
    request: web.Request,
    customer_id: int | None,
    backlog: BacklogQuery,
    since: EventQuery,
    event_id: Callable[[StatusEvent], int],
) -> web.StreamResponse:
    """Server-Sent Events: the backlog after Last-Event-ID (or the current status), then
    every change. Listening starts before the backlog is read, so nothing falls between."""
    resume_after = _last_event_id(request)
    last = resume_after or 0
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    broadcaster = request.config_dict[BROADCASTER]
    # A client that goes away, even before the headers are out, ends the stream quietly: the
    # response goes back to aiohttp, which finds the connection closed and logs nothing.
    async with broadcaster.listen(customer_id) as listener:
        with contextlib.suppress(ConnectionResetError):
            await response.prepare(request)
            await response.write(b"retry: 2000\n\n")
            events = await backlog(resume_after)
            loop = asyncio.get_running_loop()
            keep_alive_at = loop.time() + KEEPALIVE_SECONDS
            while True:
                for event in events:
                    last = max(last, event_id(event))
                    await response.write(_sse(event, event_id(event)))
                    keep_alive_at = loop.time() + KEEPALIVE_SECONDS
                # Not held while waiting: a backlog is up to 200 events.
                events = []
                if request.transport is None or request.transport.is_closing():
                    break  # the client left: nothing will tell this stream by a failed write
                # The keep-alive is due KEEPALIVE_SECONDS after the last write, however often
                # the customer's other orders wake this stream: an order's stream is woken by
                # every change of its customer's orders and writes only its own, so a timer
                # started afresh at each wake never fired while the customer kept ordering.
                # asyncio.timeout_at, not wait_for: on Python 3.11 wait_for can swallow the
                # cancellation that ends this handler when the client goes away.
                try:
                    async with asyncio.timeout_at(keep_alive_at):
                        await listener.changed.wait()
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    keep_alive_at = loop.time() + KEEPALIVE_SECONDS
                if listener.closed:
                    break
                listener.changed.clear()
                events = await since(last)
    return response


def _sse(event: StatusEvent, event_id: int) -> bytes:
    data = json.dumps({"id": event.id, "status": event.status, "updated_at": event.updated_at})
    return f"event: status\nid: {event_id}\ndata: {data}\n\n".encode()


def _last_event_id(request: web.Request) -> int | None:
    raw = request.headers.get("Last-Event-ID")
    if raw is None:
        return None
    # A browser's EventSource sends back only ids this stream gave; anything else is a bug.
    after = parse_id(raw.strip())
    if after is None:
        raise ValidationFailed(
            "Last-Event-ID must be an event id.", [FieldError(("header", "Last-Event-ID"), "must be an id")]
        )
    return after


# -- service-to-service (the dispatcher, through the registry) ---------------------------------


@internal_routes.get("/stuck")  # before /{order_id}, which would take the word for an id
async def internal_stuck(request: web.Request) -> web.Response:
    return json_response(request.config_dict[WATCHDOG].stuck)


@internal_routes.get("/{order_id}")
async def internal_get(request: web.Request) -> web.Response:
    return json_response(await _orders(request).store.get(_order_id(request)))


@internal_routes.post("/{order_id}/dispatched")
async def internal_dispatched(request: web.Request) -> web.Response:
    body = await read_json(request)
    updated_by = body.get("updated_by") if isinstance(body, dict) else None
    if not isinstance(updated_by, str) or not updated_by:
        raise ValidationFailed("updated_by is required.", [FieldError(("updated_by",), "required")])
    return json_response(await _orders(request).mark_dispatched(_order_id(request), updated_by))
