"""How other services reach auth: through the registry. Tokens need no call (every service
verifies them with the shared secret, shop/gateway/auth.py); what does is the customers
service keeping logins in step with profiles (a deleted customer's login goes, a new name
is the login's name too), and a process without auth learning which tokens were voided."""

from __future__ import annotations

from typing import Protocol

from shop.db import Slot
from shop.errors import BadGateway
from shop.registry import RemoteEndpoint, ServiceKey
from shop.services.auth.accounts import Accounts
from shop.services.auth.store import Revocation


class AuthClient(Protocol):
    async def remove_login(self, user_id: int) -> None:
        """Delete the user's login, if there is one (idempotent)."""
        ...

    async def rename(self, user_id: int, name: str) -> None:
        """Keep the login's copy of the name (the `user` of /me and login) in step."""
        ...

    async def email_taken(self, email: str) -> bool:
        """Whether a login already has this email (a new profile must not take it)."""

    async def revocations_since(self, seq: int) -> list[Revocation]:
        """Accounts whose earlier tokens were voided, recorded after `seq`, oldest first."""
        ...


class LocalAuthClient:
    def __init__(self, accounts: Slot[Accounts]) -> None:
        self._accounts = accounts

    async def remove_login(self, user_id: int) -> None:
        await self._accounts.get().remove_login(user_id)

    async def rename(self, user_id: int, name: str) -> None:
        await self._accounts.get().users.rename(user_id, name)

    async def email_taken(self, email: str) -> bool:
        return await self._accounts.get().users.email_taken(email.lower())

    async def revocations_since(self, seq: int) -> list[Revocation]:
        return await self._accounts.get().users.revocations_since(seq)


class RemoteAuthClient:
    def __init__(self, endpoint: RemoteEndpoint) -> None:
        self._endpoint = endpoint

    async def remove_login(self, user_id: int) -> None:
        await self._endpoint.call("DELETE", f"/internal/auth/users/{user_id}")

    async def rename(self, user_id: int, name: str) -> None:
        await self._endpoint.call("PUT", f"/internal/auth/users/{user_id}/name", json={"name": name})

    async def email_taken(self, email: str) -> bool:
        body = await self._endpoint.call("POST", "/internal/auth/emails/taken", json={"email": email})
        return bool(body["taken"])

    async def revocations_since(self, seq: int) -> list[Revocation]:
        body = await self._endpoint.call("GET", "/internal/auth/revocations", params={"after": str(seq)})
        if not isinstance(body, list):
            raise BadGateway("The auth service gave an invalid answer.")
        try:
            return [Revocation(int(r["seq"]), int(r["user_id"]), float(r["valid_after"])) for r in body]
        except (KeyError, TypeError, ValueError):
            raise BadGateway("The auth service gave an invalid answer.") from None


AUTH = ServiceKey[AuthClient]("auth", RemoteAuthClient)
