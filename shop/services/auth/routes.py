from __future__ import annotations

from aiohttp import web

from shop.db import Slot
from shop.gateway.bodies import read_model
from shop.gateway.context import require_caller
from shop.jsonutil import json_response
from shop.services.auth.accounts import Accounts
from shop.services.auth.models import LoginRequest, RegisterRequest

ACCOUNTS = web.AppKey("accounts", Slot[Accounts])

routes = web.RouteTableDef()


@routes.post("/register")
async def register(request: web.Request) -> web.Response:
    body = await read_model(request, RegisterRequest)
    result = await request.config_dict[ACCOUNTS].get().register(body)
    return json_response(result, status=201)


@routes.post("/login")
async def login(request: web.Request) -> web.Response:
    body = await read_model(request, LoginRequest)
    return json_response(await request.config_dict[ACCOUNTS].get().login(body.email, body.password))


@routes.get("/me")
async def me(request: web.Request) -> web.Response:
    caller = require_caller(request)
    return json_response(await request.config_dict[ACCOUNTS].get().me(caller.user_id))
