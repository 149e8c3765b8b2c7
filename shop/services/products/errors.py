"""The reservation errors, carrying what a caller needs to explain them (which product, how
many). They are NotFound and OutOfStock, so the error middleware and callers that catch
those treat them as such."""

from __future__ import annotations

from shop.errors import NotFound, OutOfStock


class ProductMissing(NotFound):
    def __init__(self, product_id: int) -> None:
        super().__init__(f"Product {product_id} does not exist.")
        self.product_id = product_id


class NotEnoughStock(OutOfStock):
    def __init__(self, product_id: int, available: int, requested: int) -> None:
        super().__init__(product_id, available, requested)
        self.available = available
        self.requested = requested
