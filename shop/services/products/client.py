"""How other services (orders) reach products: through the registry, locally or over HTTP.

Both clients behave the same: `get_many` leaves out ids that do not exist; `reserve` takes
the stock of every line in one transaction or raises having taken nothing — ProductMissing
(a NotFound, with .product_id) for a product that does not exist, NotEnoughStock (an
OutOfStock, with .product_id, .available, .requested) for too little stock; a retry
with the same reservation id takes nothing more and returns the products the first call
returned; `release` gives back what the reservation took, once; `settle` says the
reservations' orders were dispatched, so their stock is gone for good (never released) and
their records may be pruned.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from shop.db import Slot
from shop.errors import BadGateway, ShopError
from shop.pathparams import MAX_ID
from shop.registry import RemoteEndpoint, ServiceKey
from shop.services.products.errors import NotEnoughStock, ProductMissing
from shop.services.products.models import (
    MAX_SETTLED,
    Product,
    ReservationOutcome,
    ReservedProduct,
    StockLine,
    check_reservation_id,
)
from shop.services.products.store import Label, ProductStore

IDS_PER_CALL = 200

__all__ = [
    "PRODUCTS",
    "Label",
    "LocalProductsClient",
    "NotEnoughStock",
    "Product",
    "ProductMissing",
    "ProductsClient",
    "RemoteProductsClient",
    "ReservedProduct",
    "StockLine",
]


class ProductsClient(Protocol):
    async def get_many(self, ids: Collection[int]) -> dict[int, Product]: ...

    async def labels(self, ids: Collection[int]) -> dict[int, Label]:
        """The current name and first image of each product that exists."""
        ...

    def labels_version(self) -> int | None:
        """Moves on whenever a name or an image may have changed; None when this client
        cannot tell (over HTTP), so nothing built from labels may be kept."""
        ...

    async def reserve(self, reservation_id: str, lines: Sequence[StockLine]) -> list[ReservedProduct]: ...

    async def release(self, reservation_id: str) -> None: ...

    async def settle(self, reservation_ids: Sequence[str]) -> None: ...


class LocalProductsClient:
    def __init__(self, stores: Slot[ProductStore]) -> None:
        self._stores = stores

    async def get_many(self, ids: Collection[int]) -> dict[int, Product]:
        return await self._stores.get().get_many(ids)

    async def labels(self, ids: Collection[int]) -> dict[int, Label]:
        return await self._stores.get().labels(ids)

    def labels_version(self) -> int | None:
        try:
            return self._stores.get().catalogue_generation
        except ShopError:  # not open (starting or stopping): nothing to build on
            return None

    async def reserve(self, reservation_id: str, lines: Sequence[StockLine]) -> list[ReservedProduct]:
        return await self._stores.get().reserve(reservation_id, lines)

    async def release(self, reservation_id: str) -> None:
        await self._stores.get().release(reservation_id)

    async def settle(self, reservation_ids: Sequence[str]) -> None:
        await self._stores.get().settle(reservation_ids)


class RemoteProductsClient:
    def __init__(self, endpoint: RemoteEndpoint) -> None:
        self._endpoint = endpoint

    async def get_many(self, ids: Collection[int]) -> dict[int, Product]:
        wanted = sorted({i for i in ids if 1 <= i <= MAX_ID})  # no other id can exist
        found: dict[int, Product] = {}
        # A few hundred ids per call keeps the query string a sane length.
        for start in range(0, len(wanted), IDS_PER_CALL):
            chunk = wanted[start : start + IDS_PER_CALL]
            body = await self._endpoint.call(
                "GET", "/internal/products", params={"ids": ",".join(str(i) for i in chunk)}
            )
            if not isinstance(body, list):
                raise _invalid_answer()
            found.update((product.id, product) for product in (_parse(Product, item) for item in body))
        return found

    async def labels(self, ids: Collection[int]) -> dict[int, Label]:
        products = await self.get_many(ids)
        return {i: Label(p.name, p.images[0] if p.images else None) for i, p in products.items()}

    def labels_version(self) -> int | None:
        return None  # another process changes them

    async def reserve(self, reservation_id: str, lines: Sequence[StockLine]) -> list[ReservedProduct]:
        check_reservation_id(reservation_id)
        body = await self._endpoint.call(
            "POST",
            "/internal/products/reservations",
            json={
                "reservation_id": reservation_id,
                "lines": [{"product_id": line.product_id, "quantity": line.quantity} for line in lines],
            },
        )
        outcome = _parse(ReservationOutcome, body)
        if outcome.status == "reserved":
            return outcome.products
        if outcome.product_id is None:
            raise _invalid_answer()
        if outcome.status == "not_found":
            raise ProductMissing(outcome.product_id)
        raise NotEnoughStock(outcome.product_id, outcome.available or 0, outcome.requested or 0)

    async def release(self, reservation_id: str) -> None:
        check_reservation_id(reservation_id)  # it becomes a path segment
        await self._endpoint.call("DELETE", f"/internal/products/reservations/{reservation_id}")

    async def settle(self, reservation_ids: Sequence[str]) -> None:
        for start in range(0, len(reservation_ids), MAX_SETTLED):
            chunk = list(reservation_ids[start : start + MAX_SETTLED])
            await self._endpoint.call(
                "POST", "/internal/products/reservations/settled", json={"reservation_ids": chunk}
            )


M = TypeVar("M", bound=BaseModel)


def _parse(model: type[M], body: object) -> M:
    try:
        return model.model_validate(body)
    except ValidationError:
        raise _invalid_answer() from None


def _invalid_answer() -> BadGateway:
    return BadGateway("The products service gave an invalid answer.")


PRODUCTS = ServiceKey[ProductsClient]("products", RemoteProductsClient)
