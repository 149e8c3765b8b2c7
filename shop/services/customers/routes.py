from __future__ import annotations

import logging
import re

from aiohttp import web

from shop.db import Slot
from shop.errors import Conflict, FieldError, ShopError, ValidationFailed
from shop.gateway.bodies import parse_model, read_json, read_model
from shop.gateway.context import require_admin, require_caller, require_owner_or_admin
from shop.jsonutil import json_response
from shop.openapi import Content, Param, operation
from shop.paging import Page
from shop.pathparams import path_id
from shop.registry import Registry
from shop.services.auth.client import AUTH
from shop.services.customers.echoed import without_echoed_fields
from shop.services.customers.models import Customer, CustomerCreate, CustomerUpdate
from shop.services.customers.store import CustomerStore

STORES = web.AppKey("customer_stores", Slot[CustomerStore])
# The registry create_app was given: how this service reaches auth.
REGISTRY = web.AppKey("customers_registry", Registry)

log = logging.getLogger("shop.customers")

routes = web.RouteTableDef()
internal_routes = web.RouteTableDef()

_REGISTRATION_ID = re.compile(r"[A-Za-z0-9]{1,64}")

CUSTOMER_ID = Param("customer_id", int, "The customer's id (the same as their user id).")


def _store(request: web.Request) -> CustomerStore:
    return request.config_dict[STORES].get()


def _id(request: web.Request) -> int:
    return path_id(request, "customer_id")


@routes.get("")
@operation("List customers", auth="admin", responses={200: list[Customer]}, paged=True)
async def list_customers(request: web.Request) -> web.Response:
    require_admin(request)
    page = Page.from_request(request)
    customers, total = await _store(request).list(page.limit, page.offset)
    return json_response(customers, headers=page.headers(request, total))


@routes.post("")
@operation(
    "Create a customer profile without a login",
    auth="admin",
    body=CustomerCreate,
    responses={201: Content(Customer, headers={"Location": "The new customer's URL."})},
    errors={409: "A customer profile or an account with this email already exists."},
)
async def create_customer(request: web.Request) -> web.Response:
    require_admin(request)
    data = await read_model(request, CustomerCreate)
    # The profile table is unique by email; a login's email (an account whose profile is
    # elsewhere, or being made) lives in auth, and a profile must not take it either.
    registry = request.app[REGISTRY]
    if registry.has("auth") and await registry.get(AUTH).email_taken(str(data.email)):
        raise Conflict("An account with this email already exists.")
    customer = await _store(request).create(data)
    return json_response(customer, status=201, headers={"Location": f"/api/customers/{customer.id}"})


@routes.get("/me")
@operation("The signed-in customer's own profile", auth="customer", responses={200: Customer}, errors=[404])
async def my_profile(request: web.Request) -> web.Response:
    caller = require_caller(request)
    return json_response(await _store(request).get(caller.user_id))


@routes.put("/me")
@routes.patch("/me")
@routes.delete("/me")
@operation("Not allowed on /me", hidden=True)
async def not_allowed_on_me(request: web.Request) -> web.Response:
    """/me only reads: without these, PUT, PATCH and DELETE /me would reach
    /{customer_id} and answer 404 for a customer "me" instead of 405."""
    raise web.HTTPMethodNotAllowed(request.method, ["GET"])


@routes.get("/{customer_id}")
@operation("Get a customer", auth="owner_or_admin", path=[CUSTOMER_ID], responses={200: Customer})
async def get_customer(request: web.Request) -> web.Response:
    require_caller(request)  # 401 before anything is said about the id
    customer_id = _id(request)
    require_owner_or_admin(request, customer_id, "Customer")
    return json_response(await _store(request).get(customer_id))


@routes.put("/{customer_id}")
@routes.patch("/{customer_id}")
@operation(
    "Update a customer's profile",
    description="Partial: only the fields sent change (PUT and PATCH alike). "
    "The whole record may be sent back as it was read: `id`, `email` and `created_at` equal to "
    "the stored ones, `updated_at`, and the caller's own `role` on their own profile are ignored. "
    "A changed `id` or `email`, any other `role` and unknown fields are rejected with 422.",
    auth="owner_or_admin",
    path=[CUSTOMER_ID],
    body=CustomerUpdate,
    responses={200: Customer},
)
async def update_customer(request: web.Request) -> web.Response:
    require_caller(request)
    customer_id = _id(request)
    caller = require_owner_or_admin(request, customer_id, "Customer")
    stored = await _store(request).get(customer_id)
    changes = parse_model(without_echoed_fields(await read_json(request), stored, caller), CustomerUpdate)
    customer = await _store(request).update(customer_id, changes)
    if changes.name is not None:
        await _rename_login(request, customer_id, customer.name)
    return json_response(customer)


async def _rename_login(request: web.Request, customer_id: int, name: str) -> None:
    """The login keeps a copy of the name for /api/auth/me and tokens' `user`. The profile is
    the record: if auth is unreachable now, the copy stays stale rather than failing an
    update that already happened."""
    registry = request.app[REGISTRY]
    if not registry.has("auth"):
        return
    try:
        await registry.get(AUTH).rename(customer_id, name)
    except ShopError as exc:
        log.warning("login name not updated", extra={"customer_id": customer_id, "reason": exc.detail})


@routes.delete("/{customer_id}")
@operation(
    "Delete a customer",
    description="Deletes the profile and the login that goes with it. "
    "An administrator's account (the last one included) cannot be deleted: 409.",
    auth="admin",
    path=[CUSTOMER_ID],
    responses={204: None},
    errors={409: "This is an administrator's account."},
)
async def delete_customer(request: web.Request) -> web.Response:
    require_admin(request)
    customer_id = _id(request)
    store = _store(request)
    await store.get(customer_id)  # 404 before anything changes
    # The login first: a customer without a profile must not be able to sign in again.
    registry = request.app[REGISTRY]
    if registry.has("auth"):
        await registry.get(AUTH).remove_login(customer_id)
    await store.delete(customer_id)
    return web.Response(status=204)


def _registration_id(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not _REGISTRATION_ID.fullmatch(raw):
        raise ValidationFailed(
            "registration_id must be 1 to 64 letters and digits.",
            [FieldError(("query", "registration_id"), "invalid")],
        )
    return raw


@internal_routes.post("")
async def internal_create(request: web.Request) -> web.Response:
    data = await read_model(request, CustomerCreate)
    registration_id = _registration_id(request.query.get("registration_id"))
    return json_response(await _store(request).create(data, registration_id), status=201)


@internal_routes.get("/{customer_id}")
async def internal_get(request: web.Request) -> web.Response:
    return json_response(await _store(request).get(_id(request)))


@internal_routes.delete("/registrations/{registration_id}")
async def internal_remove_registration(request: web.Request) -> web.Response:
    registration_id = _registration_id(request.match_info["registration_id"])
    assert registration_id is not None
    await _store(request).remove_registration(registration_id)
    return web.Response(status=204)
