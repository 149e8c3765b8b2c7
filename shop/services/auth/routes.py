from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from shop.db import Slot
from shop.gateway.bodies import read_model
from shop.gateway.context import require_caller
from shop.jsonutil import json_response
from shop.openapi import operation
from shop.pathparams import parse_id, path_id
from shop.services.auth.accounts import Accounts
from shop.services.auth.models import (
    ChangePasswordRequest,
    ForgotPasswordRequest,
    LoginRequest,
    PasswordResetAccepted,
    RegisterRequest,
    RegisterResponse,
    ResetPasswordRequest,
    TokenResponse,
    User,
)

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


@routes.post("/forgot-password")
@operation(
    "Ask for a password reset",
    description="Always 202 with the same body, whether or not the account exists. For an "
    "existing account a single-use reset token (valid for `auth.reset_token_ttl_seconds`) is "
    "sent as the signed event `auth.password_reset_requested` `{email, name, reset_token, "
    "expires_at}` to `[notifications] webhooks`, delivered like the dispatcher's webhooks "
    "(listed under /api/dispatcher/deliveries). Also at the original system's "
    "`POST /api/forgot-password`. Rate-limited like login.",
    body=ForgotPasswordRequest,
    responses={202: PasswordResetAccepted},
)
async def forgot_password(request: web.Request) -> web.Response:
    body = await read_model(request, ForgotPasswordRequest)
    request.config_dict[ACCOUNTS].get().request_password_reset_soon(body.email)
    return json_response(PasswordResetAccepted(), status=202)


@routes.post("/reset-password")
@operation(
    "Set a new password with a reset token",
    description="The token works once. Every token issued to the account before the reset "
    "stops working (401 everywhere). Rate-limited like login.",
    body=ResetPasswordRequest,
    responses={204: None},
    errors={422: "A password under 8 characters, or a token that is unknown, used or expired."},
)
async def reset_password(request: web.Request) -> web.Response:
    body = await read_model(request, ResetPasswordRequest)
    await request.config_dict[ACCOUNTS].get().reset_password(body.token, body.password)
    return web.Response(status=204)


@routes.post("/change-password")
@operation(
    "Change the caller's password",
    description="Needs the current password. Every token issued to the account before the change "
    "stops working (401 everywhere; in a split deployment within a few seconds): log in again. "
    "Rate-limited like login.",
    auth="customer",
    body=ChangePasswordRequest,
    responses={204: None},
    errors={422: "The current password is not right, or the new one is under 8 characters."},
)
async def change_password(request: web.Request) -> web.Response:
    caller = require_caller(request)
    body = await read_model(request, ChangePasswordRequest)
    await request.config_dict[ACCOUNTS].get().change_password(caller.user_id, body.current_password, body.new_password)
    return web.Response(status=204)


@routes.get("/me")
@operation("The signed-in user", auth="customer", responses={200: User})
async def me(request: web.Request) -> web.Response:
    caller = require_caller(request)
    return json_response(await request.config_dict[ACCOUNTS].get().me(caller.user_id))


@internal_routes.delete("/users/{user_id}")
async def internal_remove_login(request: web.Request) -> web.Response:
    await request.config_dict[ACCOUNTS].get().remove_login(path_id(request, "user_id"))
    return web.Response(status=204)


@internal_routes.get("/revocations")
async def internal_revocations(request: web.Request) -> web.Response:
    """Voided tokens after `?after=` (a seq), for processes without the auth service."""
    after = parse_id(request.query.get("after", "")) or 0
    found = await request.config_dict[ACCOUNTS].get().users.revocations_since(after)
    return json_response([{"seq": r.seq, "user_id": r.user_id, "valid_after": r.valid_after} for r in found])


class _NewName(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)


@internal_routes.put("/users/{user_id}/name")
async def internal_rename(request: web.Request) -> web.Response:
    body = await read_model(request, _NewName)
    await request.config_dict[ACCOUNTS].get().users.rename(path_id(request, "user_id"), body.name)
    return web.Response(status=204)


class _EmailQuestion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=1, max_length=320)


@internal_routes.post("/emails/taken")
async def internal_email_taken(request: web.Request) -> web.Response:
    body = await read_model(request, _EmailQuestion)
    taken = await request.config_dict[ACCOUNTS].get().users.email_taken(body.email.lower())
    return json_response({"taken": taken})
