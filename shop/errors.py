"""Domain errors. Stores and services raise these; the error middleware turns them into
RFC 9457 problem documents by one table (shop/gateway/errors.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    loc: tuple[str | int, ...]
    msg: str


class ShopError(Exception):
    """Base of every error a client is meant to see. `detail` is safe to show."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequest(ShopError):
    """The body could not be parsed at all (malformed JSON)."""


class ValidationFailed(ShopError):
    def __init__(self, detail: str, errors: Sequence[FieldError] = ()) -> None:
        super().__init__(detail)
        self.errors = list(errors)


class Unauthorized(ShopError):
    def __init__(self, detail: str = "Authentication is required.", *, token_sent: bool = False) -> None:
        super().__init__(detail)
        self.token_sent = token_sent


class Forbidden(ShopError):
    pass


class NotFound(ShopError):
    pass


class Conflict(ShopError):
    pass


class OutOfStock(Conflict):
    def __init__(self, product_id: int, available: int, requested: int) -> None:
        super().__init__(f"Product {product_id} has {available} in stock; {requested} requested.")
        self.product_id = product_id


class UnsupportedMediaType(ShopError):
    pass


class PayloadTooLarge(ShopError):
    pass


class ServiceUnavailable(ShopError):
    """A service or dependency this request needs is down."""


class UpstreamTimeout(ShopError):
    """A remote service did not answer in time."""


class BadGateway(ShopError):
    """A remote service answered with something that is not a valid response."""


class TooManyRequests(ShopError):
    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
