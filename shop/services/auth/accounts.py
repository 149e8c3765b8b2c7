"""Registration, login and the configured admin: the auth service's behaviour, apart from
HTTP so start-up can use it too."""

from __future__ import annotations

import asyncio
import logging
import uuid

from shop.errors import Conflict, ShopError, Unauthorized
from shop.registry import Registry
from shop.services.auth.models import RegisterRequest, Role, TokenResponse, User
from shop.services.auth.passwords import PasswordHashing
from shop.services.auth.store import Login, UserStore
from shop.services.auth.tokens import issue_token
from shop.services.customers.client import CUSTOMERS
from shop.services.customers.models import CustomerCreate

log = logging.getLogger("shop.auth")

LOGIN_FAILED = "The email or password is wrong."


class Accounts:
    def __init__(
        self,
        users: UserStore,
        passwords: PasswordHashing,
        registry: Registry,
        *,
        jwt_secret: str,
        issuer: str,
        token_ttl_seconds: int,
    ) -> None:
        self.users = users
        self.db = users.db  # what readiness checks ping
        self.passwords = passwords
        self.registry = registry
        self._jwt_secret = jwt_secret
        self._issuer = issuer
        self._ttl = token_ttl_seconds

    async def register(self, request: RegisterRequest, role: Role = "customer") -> TokenResponse:
        email = str(request.email).lower()
        if await self.users.email_taken(email):
            raise Conflict("An account with this email already exists.")
        password_hash = await self.passwords.hash(request.password)
        profile_fields = request.model_dump(exclude={"password"})
        # The profile first: its id becomes the user's id. It is tagged with this
        # registration's id, so whatever goes wrong later (or an answer that never came, from
        # a customers service that timed out) can remove exactly what this attempt made.
        registration_id = uuid.uuid4().hex
        customers = self.registry.get(CUSTOMERS)
        try:
            profile = await customers.create_profile(
                CustomerCreate(**{**profile_fields, "email": email}), registration_id
            )
            user = await self.users.create(profile.id, request.name, email, password_hash, role)
        except BaseException:
            # Even a refusal (409) may follow a profile this attempt made (the login insert
            # lost a race); undoing is idempotent, so undo whatever happened.
            await self._undo_registration(registration_id)
            raise
        log.info("user registered", extra={"user_id": user.id, "role": role})
        return self._token_for(user)

    async def _undo_registration(self, registration_id: str) -> None:
        """Remove the profile a failed registration made, so no half-made user remains."""
        try:
            await asyncio.shield(self.registry.get(CUSTOMERS).remove_registration(registration_id))
        except ShopError:
            log.error("could not remove a failed registration's profile", extra={"registration_id": registration_id})

    async def login(self, email: str, password: str) -> TokenResponse:
        login = await self.users.find_login(email.strip().lower())
        # Verify even for an unknown email, so both failures take the same time.
        ok = await self.passwords.verify(login.password_hash if login else None, password)
        if login is None or not ok:
            raise Unauthorized(LOGIN_FAILED)
        await self._rehash_if_needed(login, password)
        return self._token_for(login.user)

    async def _rehash_if_needed(self, login: Login, password: str) -> None:
        """Store the password under the configured argon2 parameters if its hash has others:
        a login is the only time the password is at hand. This never fails the login; the old
        hash still verifies, and the next login tries again."""
        try:
            if not self.passwords.needs_rehash(login.password_hash):
                return
            new_hash = await self.passwords.hash(password)
            if await self.users.replace_password_hash(login.user.id, login.password_hash, new_hash):
                log.info("password re-hashed with the configured parameters", extra={"user_id": login.user.id})
        except Exception as exc:  # noqa: BLE001 - the login succeeded; only the upgrade did not
            # The exception's type only: its message could quote what it was given (the hash).
            log.warning(
                "could not re-hash a password with the configured parameters",
                extra={"user_id": login.user.id, "error": type(exc).__name__},
            )

    async def me(self, user_id: int) -> User:
        user = await self.users.get(user_id)
        if user is None:
            raise Unauthorized("This account no longer exists.", token_sent=True)
        return user

    async def ensure_admin(self, email: str, password: str) -> bool:
        """Create the configured admin if missing; True once it exists."""
        email = email.lower()
        if await self.users.email_taken(email):
            return True
        request = RegisterRequest(name="Administrator", email=email, password=password)
        try:
            await self.register(request, role="admin")
        except Conflict:
            # A customer profile with this email exists without a login: refuse to turn
            # someone else's profile into an admin.
            log.error("admin email belongs to an existing customer profile", extra={"email": email})
            return True
        log.info("admin account created", extra={"email": email})
        return True

    def _token_for(self, user: User) -> TokenResponse:
        token = issue_token(user, secret=self._jwt_secret, issuer=self._issuer, ttl_seconds=self._ttl)
        return TokenResponse(token=token, expires_in=self._ttl, user=user)
