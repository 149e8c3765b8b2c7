from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shop.pathparams import MAX_ID
from shop.validation import WHOLE_NUMBER

Status = Literal["Created", "Dispatched", "Cancelled"]

# The only transitions there are: Created -> Dispatched and Created -> Cancelled.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    "Created": frozenset({"Dispatched", "Cancelled"}),
    "Dispatched": frozenset(),
    "Cancelled": frozenset(),
}

MAX_LINES = 100


class OrderLineIn(BaseModel):
    """One requested line. The original UI also sent these legacy fields; they are accepted
    and ignored (the customer is the caller, prices come from the catalogue)."""

    model_config = ConfigDict(extra="forbid")

    # "3" and true are not quantities; 3.0 is, as JSON Schema's "integer" says.
    product_id: Annotated[int, Field(ge=1, le=MAX_ID), WHOLE_NUMBER]
    quantity: Annotated[int, Field(ge=1, le=1000), WHOLE_NUMBER]
    customer_id: Any = Field(default=None, exclude=True)
    per_cost: Any = Field(default=None, exclude=True)
    total_cost: Any = Field(default=None, exclude=True)
    status: Any = Field(default=None, exclude=True)


# An order's lines; also the whole body in the original UI's form of an order (a bare array).
OrderLines = Annotated[list[OrderLineIn], Field(min_length=1, max_length=MAX_LINES)]


class OrderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: OrderLines


class OrderLine(BaseModel):
    product_id: int
    name: str
    quantity: int
    unit_price: float
    line_total: float
    image: str | None = None


class Order(BaseModel):
    id: int
    customer_id: int
    status: Status
    items: list[OrderLine]
    total: float
    currency: str
    created_at: str
    updated_at: str
    updated_by: str


class StatusEvent(BaseModel):
    """One status of one order, as the SSE streams send it."""

    seq: int  # increases per order: the per-order stream's event id
    global_id: int  # increases across orders: the all-orders stream's event id
    id: int  # the order id
    customer_id: int
    status: Status
    updated_at: str


def cents_to_amount(cents: int) -> float:
    # Exact for display: x/100 has a shortest repr of at most two decimals.
    return cents / 100


class StatusData(BaseModel):
    """The `data:` of an SSE `status` event."""

    id: int = Field(description="The order's id.")
    status: Status
    updated_at: str


class OriginalProduct(BaseModel):
    id: int
    name: str


class OrderAnswer(Order):
    """An order as the API answers it: also the per-order fields of the original system,
    which stored one product per order, so the original UI's orders page can show one.
    A many-line order shows its first line's product, named "<name> and N more"; `quantity`
    is the sum of its lines' quantities, `per_cost` is null (there is no one unit price) and
    `total_cost` is the order's total."""

    product_id: int
    product: OriginalProduct
    quantity: int
    per_cost: float | None
    total_cost: float


class PlacedFromOriginalBody(OrderAnswer):
    """The answer to the original UI's bare array of lines: it reads these three as well."""

    message: str
    order_count: int
    order_ids: list[int]
