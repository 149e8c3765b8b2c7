"""How other services reach customers: through the registry, locally or over HTTP."""

from __future__ import annotations

from typing import Protocol

from shop.db import Slot
from shop.registry import RemoteEndpoint, ServiceKey
from shop.services.customers.models import Customer, CustomerCreate
from shop.services.customers.store import CustomerStore


class CustomersClient(Protocol):
    async def create_profile(self, data: CustomerCreate) -> Customer: ...

    async def delete_profile(self, customer_id: int) -> None: ...


class LocalCustomersClient:
    def __init__(self, stores: Slot[CustomerStore]) -> None:
        self._stores = stores

    async def create_profile(self, data: CustomerCreate) -> Customer:
        return await self._stores.get().create(data)

    async def delete_profile(self, customer_id: int) -> None:
        await self._stores.get().delete(customer_id)


class RemoteCustomersClient:
    def __init__(self, endpoint: RemoteEndpoint) -> None:
        self._endpoint = endpoint

    async def create_profile(self, data: CustomerCreate) -> Customer:
        body = await self._endpoint.call("POST", "/internal/customers", json=data.model_dump(mode="json"))
        return Customer.model_validate(body)

    async def delete_profile(self, customer_id: int) -> None:
        await self._endpoint.call("DELETE", f"/internal/customers/{customer_id}")


CUSTOMERS = ServiceKey[CustomersClient]("customers", RemoteCustomersClient)
