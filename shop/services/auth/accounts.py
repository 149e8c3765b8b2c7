"""Registration, login and the configured admin: the auth service's behaviour, apart from
HTTP so start-up can use it too."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
import uuid

from shop.bus.envelope import Envelope
from shop.clock import rfc3339
from shop.dispatcher.client import DISPATCHER
from shop.errors import Conflict, FieldError, ShopError, Unauthorized, ValidationFailed
from shop.gateway.revocation import TokenRevocations
from shop.registry import Registry
from shop.services.auth.models import RegisterRequest, Role, TokenResponse, User
from shop.services.auth.passwords import PasswordHashing
from shop.services.auth.store import Login, UserStore
from shop.services.auth.tokens import issue_token, token_time
from shop.services.customers.client import CUSTOMERS
from shop.services.customers.models import CustomerCreate

log = logging.getLogger("shop.auth")

LOGIN_FAILED = "The email or password is wrong."
RESET_TOKEN_REFUSED = "The reset token is unknown, already used or expired; ask for a new one."
PASSWORD_RESET_REQUESTED = "auth.password_reset_requested"


def reset_token_hash(token: str) -> str:
    """SHA-256 suffices (no KDF): the token is 256 random bits, not a guessable password."""
    return hashlib.sha256(token.encode()).hexdigest()


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
        reset_token_ttl_seconds: int,
        revocations: TokenRevocations,
    ) -> None:
        self.users = users
        self.passwords = passwords
        self.registry = registry
        self._jwt_secret = jwt_secret
        self._issuer = issuer
        self._ttl = token_ttl_seconds
        self._reset_ttl = reset_token_ttl_seconds
        self.revocations = revocations
        self._pending_resets: set[asyncio.Task[None]] = set()

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
        except Exception as exc:
            # The exception's type only: its message could quote what it was given (the hash).
            log.warning(
                "could not re-hash a password with the configured parameters",
                extra={"user_id": login.user.id, "error": type(exc).__name__},
            )

    def request_password_reset_soon(self, email: str) -> None:
        """`request_password_reset`, after the caller has answered: how long the answer takes
        must not tell whether the account exists (its token is written and handed on, an
        unknown email costs one read)."""
        task = asyncio.create_task(self._request_password_reset_logged(email))
        self._pending_resets.add(task)
        task.add_done_callback(self._pending_resets.discard)

    async def finish_pending_resets(self) -> None:
        """At shutdown, before the database closes: requests already answered are carried out."""
        if self._pending_resets:
            await asyncio.gather(*self._pending_resets, return_exceptions=True)

    async def _request_password_reset_logged(self, email: str) -> None:
        try:
            await self.request_password_reset(email)
        except Exception:
            log.exception("password reset request failed")

    async def request_password_reset(self, email: str) -> None:
        """For an existing account, a single-use reset token, sent only to [notifications]
        webhooks as auth.password_reset_requested. Says nothing either way: the caller answers
        the same whether or not the account exists. A notification that cannot be handed to
        the dispatcher is logged, and the user asks again."""
        login = await self.users.find_login(email.strip().lower())
        if login is None:
            return
        token = secrets.token_urlsafe(32)
        expires_at = time.time() + self._reset_ttl
        await self.users.add_reset_token(login.user.id, reset_token_hash(token), expires_at)
        event = Envelope.new(
            PASSWORD_RESET_REQUESTED,
            {
                "email": login.user.email,
                "name": login.user.name,
                "reset_token": token,
                "expires_at": rfc3339(expires_at, "seconds"),
            },
        )
        if not self.registry.has(DISPATCHER.name):
            log.error("password reset requested, but no dispatcher runs to notify", extra={"user_id": login.user.id})
            return
        try:
            await self.registry.get(DISPATCHER).notify(event)
        except ShopError as exc:
            log.error(
                "password reset requested, but its notification could not be queued",
                extra={"user_id": login.user.id, "reason": exc.detail},
            )
            return
        log.info("password reset requested", extra={"user_id": login.user.id, "event_id": event.event_id})

    async def reset_password(self, token: str, password: str) -> None:
        """Use a reset token once: the new password, and every token issued before is void."""
        password_hash = await self.passwords.hash(password)
        now = token_time(time.time())
        user_id = await self.users.reset_password(reset_token_hash(token), password_hash, now)
        if user_id is None:
            raise ValidationFailed(RESET_TOKEN_REFUSED, [FieldError(("token",), "unknown, already used or expired")])
        self.revocations.void_tokens_issued_before(user_id, now)
        log.info("password reset", extra={"user_id": user_id})

    async def change_password(self, user_id: int, current: str, new: str) -> None:
        """The caller's new password, once the current one is verified; every token issued to
        the account before now is void (the caller logs in again)."""
        login = await self.users.login_of(user_id)
        if login is None:
            raise Unauthorized("This account no longer exists.", token_sent=True)
        if not await self.passwords.verify(login.password_hash, current):
            raise ValidationFailed(
                "The current password is not right.", [FieldError(("current_password",), "does not match")]
            )
        new_hash = await self.passwords.hash(new)
        now = token_time(time.time())
        if not await self.users.change_password(user_id, login.password_hash, new_hash, now):
            raise Conflict("The password was changed meanwhile; try again.")
        self.revocations.void_tokens_issued_before(user_id, now)
        log.info("password changed", extra={"user_id": user_id})

    async def remove_login(self, user_id: int) -> None:
        """A deleted customer's login goes, and every token issued to it stops working."""
        now = token_time(time.time())
        if await self.users.delete(user_id, now):
            self.revocations.void_tokens_issued_before(user_id, now)
            log.info("login removed", extra={"user_id": user_id})

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
