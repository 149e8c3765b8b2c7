"""How other services reach customers: through the registry, locally or over HTTP."""

from __future__ import annotations

from typing import Protocol

from shop.db import Slot
from shop.errors import NotFound
from shop.registry import RemoteEndpoint, ServiceKey
from shop.services.customers.models import Customer, CustomerCreate
from shop.services.customers.store import CustomerStore


class CustomersClient(Protocol):
    async def create_profile(self, data: CustomerCreate, registration_id: str) -> Customer:
        """Idempotent per registration id: a retry returns the profile made the first time."""
        ...

    async def remove_registration(self, registration_id: str) -> None:
        """Delete the profile this registration made, if any (idempotent)."""
        ...

    async def exists(self, customer_id: int) -> bool:
        """Whether the customer exists now (a deleted customer's old token still verifies)."""
        ...


class LocalCustomersClient:
    def __init__(self, stores: Slot[CustomerStore]) -> None:
        self._stores = stores

    async def create_profile(self, data: CustomerCreate, registration_id: str) -> Customer:
        return await self._stores.get().create(data, registration_id)

    async def remove_registration(self, registration_id: str) -> None:
        await self._stores.get().remove_registration(registration_id)

    async def exists(self, customer_id: int) -> bool:
        try:
            await self._stores.get().get(customer_id)
        except NotFound:
            return False
        return True


class RemoteCustomersClient:
    def __init__(self, endpoint: RemoteEndpoint) -> None:
        self._endpoint = endpoint

    async def create_profile(self, data: CustomerCreate, registration_id: str) -> Customer:
        body = await self._endpoint.call(
            "POST",
            "/internal/customers",
            json=data.model_dump(mode="json"),
            params={"registration_id": registration_id},
        )
        return Customer.model_validate(body)

    async def remove_registration(self, registration_id: str) -> None:
        await self._endpoint.call("DELETE", f"/internal/customers/registrations/{registration_id}")

    async def exists(self, customer_id: int) -> bool:
        try:
            await self._endpoint.call("GET", f"/internal/customers/{customer_id}")
        except NotFound:
            return False
        return True


CUSTOMERS = ServiceKey[CustomersClient]("customers", RemoteCustomersClient)
