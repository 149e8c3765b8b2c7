from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from shop.db import Slot
from shop.gateway.bodies import read_model
from shop.gateway.context import require_caller
from shop.jsonutil import json_response
from shop.pathparams import path_id
from shop.openapi import operation
from shop.services.auth.accounts import Accounts
from shop.services.auth.models import LoginRequest, RegisterRequest, RegisterResponse, TokenResponse, User

ACCOUNTS = web.AppKey("accounts", Slot[Accounts])

routes = web.RouteTableDef()
internal_routes = web.RouteTableDef()


@routes.post("/register")
@operation(
    "Register a customer account and get a token",
    description="Also creates the customer profile with the same id, as one operation.",
    body=RegisterRequest,
    responses={201: RegisterResponse},
    errors={
        409: "An account with this email already exists.",
        422: "Bad email, a password under 8 characters, a `confirmPassword` (or `confirm_password`) "
        "that differs from it, or an unknown field.",
        503: "The customers service is down; nothing was created.",
    },
)
async def register(request: web.Request) -> web.Response:
    body = await read_model(request, RegisterRequest)
    result = await request.config_dict[ACCOUNTS].get().register(body)
    return json_response(RegisterResponse(**result.model_dump()), status=201)


@routes.post("/login")
@operation(
    "Log in and get a token",
    body=LoginRequest,
    responses={200: TokenResponse},
    errors={401: "Unknown email or wrong password (one message for both)."},
)
async def login(request: web.Request) -> web.Response:
    body = await read_model(request, LoginRequest)
    return json_response(await request.config_dict[ACCOUNTS].get().login(body.email, body.password))


@routes.get("/me")
@operation("The signed-in user", auth="customer", responses={200: User})
async def me(request: web.Request) -> web.Response:
    caller = require_caller(request)
    return json_response(await request.config_dict[ACCOUNTS].get().me(caller.user_id))


@internal_routes.delete("/users/{user_id}")
async def internal_remove_login(request: web.Request) -> web.Response:
    await request.config_dict[ACCOUNTS].get().users.delete(path_id(request, "user_id"))
    return web.Response(status=204)


class _NewName(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)


@internal_routes.put("/users/{user_id}/name")
async def internal_rename(request: web.Request) -> web.Response:
    body = await read_model(request, _NewName)
    await request.config_dict[ACCOUNTS].get().users.rename(path_id(request, "user_id"), body.name)
    return web.Response(status=204)
