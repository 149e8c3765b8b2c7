from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from shop.db import Database, Slot, database_context
from shop.errors import ShopError
from shop.gateway.cors import enable_cors
from shop.internal import internal_app
from shop.retention import PruneStep, pruning_context
from shop.services import Service, ServiceApps, ServiceContext
from shop.services.auth.accounts import Accounts
from shop.services.auth.client import AUTH, LocalAuthClient
from shop.services.auth.passwords import PasswordHashing
from shop.services.auth.routes import ACCOUNTS, internal_routes, routes
from shop.services.auth.store import MIGRATIONS, UserStore

log = logging.getLogger("shop.auth")

ADMIN_RETRY_SECONDS = 5.0


def create_app(ctx: ServiceContext) -> ServiceApps:
    cfg, registry, revocations = ctx.cfg, ctx.registry, ctx.revocations
    accounts = Slot[Accounts]("auth")
    passwords = PasswordHashing(
        time_cost=cfg.auth.argon2_time_cost,
        memory_kib=cfg.auth.argon2_memory_kib,
        parallelism=cfg.auth.argon2_parallelism,
    )

    def make_accounts(db: Database) -> Accounts:
        return Accounts(
            UserStore(db),
            passwords,
            registry,
            jwt_secret=cfg.auth.jwt_secret,
            issuer=cfg.auth.issuer,
            token_ttl_seconds=cfg.auth.token_ttl_seconds,
            reset_token_ttl_seconds=cfg.auth.reset_token_ttl_seconds,
            revocations=revocations,
        )

    async def revocations_and_pending_resets(app: web.Application) -> AsyncIterator[None]:
        # Before the first request: a token voided before a restart stays void after it.
        await revocations.catch_up(accounts.get().users.revocations_since)
        yield
        await accounts.get().finish_pending_resets()  # before the database closes

    async def admin_account(app: web.Application) -> AsyncIterator[None]:
        async def ensure() -> bool:
            try:
                return await accounts.get().ensure_admin(cfg.auth.admin_email, cfg.auth.admin_password)
            except ShopError:  # customers down, slow or confused: try again later
                return False

        async def keep_trying() -> None:
            while not await ensure():
                log.warning("customers unavailable; admin account not created yet")
                await asyncio.sleep(ADMIN_RETRY_SECONDS)

        task = None if await ensure() else asyncio.create_task(keep_trying())
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = web.Application()
    app[ACCOUNTS] = accounts
    app.add_routes(routes)
    enable_cors(app, cfg.gateway.cors_origins)
    app.cleanup_ctx.append(passwords.context)  # first: closes after everything that hashes
    app.cleanup_ctx.append(
        database_context(cfg.data.dir / "auth.db", MIGRATIONS, accounts, make_accounts, cfg.data.synchronous)
    )
    app.cleanup_ctx.append(revocations_and_pending_resets)
    app.cleanup_ctx.append(
        pruning_context(
            cfg.retention,
            lambda: [
                PruneStep("expired_reset_tokens", 0, accounts.get().users.prune_expired_resets),
            ],
        )
    )
    app.cleanup_ctx.append(admin_account)
    internal = internal_app(registry.service_token, internal_routes)
    internal[ACCOUNTS] = accounts
    registry.register_local(AUTH, LocalAuthClient(accounts), accounts.ping)
    return ServiceApps("auth", app, internal)


SERVICE = Service(
    name="auth",
    create_app=create_app,
    key=AUTH,
    routes=routes,
    calls=("customers",),  # registration creates the profile
    public_paths=("/login", "/register", "/forgot-password", "/reset-password"),
    login_paths=("/login", "/register", "/forgot-password", "/reset-password", "/change-password"),
    databases={"auth": MIGRATIONS},
)
