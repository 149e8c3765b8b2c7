from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web
from pydantic import ValidationError

from shop.db import Slot
from shop.errors import FieldError, ValidationFailed
from shop.gateway.bodies import read_model
from shop.gateway.context import require_admin
from shop.jsonutil import dumps, json_response
from shop.openapi import Content, Param, operation
from shop.paging import Page
from shop.pathparams import parse_id, path_id
from shop.readcache import Answer
from shop.services.products.errors import NotEnoughStock, ProductMissing
from shop.services.products.images import request_origin, with_absolute_images
from shop.services.products.models import (
    Product,
    ProductCreate,
    ProductFilters,
    ProductUpdate,
    ReservationOutcome,
    ReservationRequest,
    SettleRequest,
    StockLine,
)
from shop.services.products.store import ProductStore

STORES = web.AppKey("product_stores", Slot[ProductStore])

routes = web.RouteTableDef()
internal_routes = web.RouteTableDef()

PRODUCT_ID = Param("product_id", int, "The product's id.")

MAX_IDS_PER_LOOKUP = 500


def _store(request: web.Request) -> ProductStore:
    return request.config_dict[STORES].get()


def _filters(request: web.Request) -> ProductFilters:
    try:
        # An empty parameter (?min_price=, as HTML forms send) means "no filter".
        return ProductFilters.model_validate({k: v for k, v in request.query.items() if v != ""})
    except ValidationError as exc:
        raise ValidationFailed(
            "The query parameters failed validation.",
            [FieldError(("query", *e["loc"]), str(e["msg"])) for e in exc.errors(include_url=False)],
        ) from None


@routes.get("")
@operation(
    "List and search the catalogue",
    description="Filters combine; `q` matches name, description and brand. "
    "An empty parameter (`?min_price=`) is no filter.",
    query=ProductFilters,
    paged=True,
    responses={200: list[Product]},
)
async def list_products(request: web.Request) -> web.Response:
    store = _store(request)

    async def search() -> Answer:
        filters = _filters(request)
        page = Page.from_request(request)
        products, total = await store.search(filters, page.limit, page.offset)
        body = dumps([with_absolute_images(product, origin) for product in products])
        return Answer(body, page.headers(request, total))

    # Keyed by the query string as sent: the same string always means the same filters and
    # page (and the same Link header), so an answer from the cache parses nothing at all.
    # And by the origin the client called, which the image URLs name.
    origin = request_origin(request)
    answer = await store.reads.get(("list", origin, request.query_string), search)
    return _json_body(answer.body, headers=answer.headers)


@routes.post("")
@operation(
    "Add a product",
    auth="admin",
    body=ProductCreate,
    responses={201: Content(Product, headers={"Location": "The new product's URL."})},
    errors={409: "A product with this SKU already exists."},
)
async def create_product(request: web.Request) -> web.Response:
    require_admin(request)
    data = await read_model(request, ProductCreate)
    product = await _store(request).create(data)
    return json_response(
        with_absolute_images(product, request_origin(request)),
        status=201,
        headers={"Location": f"/api/products/{product.id}"},
    )


@routes.get("/{product_id}")
@operation("Get a product", path=[PRODUCT_ID], responses={200: Product})
async def get_product(request: web.Request) -> web.Response:
    store = _store(request)
    product_id = path_id(request, "product_id")

    async def get() -> Answer:
        return Answer(dumps(with_absolute_images(await store.get(product_id), origin)))

    origin = request_origin(request)
    return _json_body((await store.reads.get(("product", origin, product_id), get)).body)


def _json_body(body: bytes, headers: Mapping[str, str] | None = None) -> web.Response:
    # The same bytes json_response would send, encoded once per catalogue version.
    return web.Response(body=body, content_type="application/json", headers=headers)


@routes.put("/{product_id}")
@routes.patch("/{product_id}")
@operation(
    "Update a product",
    description="Partial: only the fields sent change (PUT and PATCH alike); null is not a value.",
    auth="admin",
    path=[PRODUCT_ID],
    body=ProductUpdate,
    responses={200: Product},
    errors={409: "Another product has this SKU."},
)
async def update_product(request: web.Request) -> web.Response:
    require_admin(request)
    product_id = path_id(request, "product_id")
    changes = await read_model(request, ProductUpdate)
    return json_response(
        with_absolute_images(await _store(request).update(product_id, changes), request_origin(request))
    )


@routes.delete("/{product_id}")
@operation("Delete a product", auth="admin", path=[PRODUCT_ID], responses={204: None})
async def delete_product(request: web.Request) -> web.Response:
    require_admin(request)
    await _store(request).delete(path_id(request, "product_id"))
    return web.Response(status=204)


# -- service-to-service (/internal/products, service credential required) ---------------------


@internal_routes.get("")
async def internal_get_many(request: web.Request) -> web.Response:
    ids = _ids_param(request.query.get("ids", ""))
    products = await _store(request).get_many(ids)
    return json_response([products[i] for i in sorted(products)])


@internal_routes.post("/reservations")
async def internal_reserve(request: web.Request) -> web.Response:
    body = await read_model(request, ReservationRequest)
    lines = [StockLine(line.product_id, line.quantity) for line in body.lines]
    try:
        products = await _store(request).reserve(body.reservation_id, lines)
    except NotEnoughStock as exc:
        outcome = ReservationOutcome(
            status="out_of_stock", product_id=exc.product_id, available=exc.available, requested=exc.requested
        )
    except ProductMissing as exc:
        outcome = ReservationOutcome(status="not_found", product_id=exc.product_id)
    else:
        outcome = ReservationOutcome(status="reserved", products=products)
    return json_response(outcome)


@internal_routes.post("/reservations/settled")
async def internal_settle(request: web.Request) -> web.Response:
    body = await read_model(request, SettleRequest)
    await _store(request).settle(body.reservation_ids)
    return web.Response(status=204)


@internal_routes.delete("/reservations/{reservation_id}")
async def internal_release(request: web.Request) -> web.Response:
    await _store(request).release(request.match_info["reservation_id"])
    return web.Response(status=204)


def _ids_param(raw: str) -> list[int]:
    ids = [parse_id(part.strip()) for part in raw.split(",") if part.strip()]
    known = [i for i in ids if i is not None]
    if not ids or len(ids) > MAX_IDS_PER_LOOKUP or len(known) < len(ids):
        raise ValidationFailed(
            f"ids must be 1 to {MAX_IDS_PER_LOOKUP} comma-separated product ids.",
            [FieldError(("query", "ids"), "must be comma-separated integers")],
        )
    return known
