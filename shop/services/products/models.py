"""Products: request bodies (extra="forbid", no read-only fields), the product as clients see
it, list filters, and the stock-reservation types the orders service uses.

Money is exact: a request's `price` is a JSON number with at most two decimals and becomes
integer cents in the store; the response's `price` is cents / 100, which prints with at most
two decimals. `additional_info` is free text (a string); structured facts belong in
`specifications`, an object of string -> string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    computed_field,
    field_validator,
)
from pydantic_core import PydanticCustomError

from shop.errors import FieldError, ValidationFailed
from shop.validation import NON_BLANK, WHOLE_NUMBER, StripsText, without_nulls

MAX_PRICE = Decimal("1000000.00")
MAX_STOCK = 1_000_000_000


def _json_number(value: Any) -> Any:
    # JSON numbers only: a string "19.99" or a boolean is a client bug, not a price.
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise PydanticCustomError("number_type", "must be a number")
    return value


Price = Annotated[
    Decimal,
    BeforeValidator(_json_number),
    Field(gt=0, le=MAX_PRICE, decimal_places=2),
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": float(MAX_PRICE), "multipleOf": 0.01}),
]

Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. USD")]

# Letters, digits and . _ - so a SKU is safe in URLs, filenames and barcodes alike.
Sku = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]

Rating = Annotated[float, Field(strict=True, ge=0, le=5)]
Stock = Annotated[int, Field(ge=0, le=MAX_STOCK), WHOLE_NUMBER]

# No spaces and no control characters, read alike by Python's re (this model, the fuzzer)
# and ECMA-262 (the document's validators), whose \s differ: C0, C1 and U+FEFF are named.
_URL_CHAR = r"[^\s\x00-\x20\x7f-\x9f\ufeff]"
_HOST_CHAR = r"[^\s\x00-\x20\x7f-\x9f\ufeff/]"
_IMAGE_URL_PATTERN = rf"^(https?://{_HOST_CHAR}+{_URL_CHAR}*|/{_HOST_CHAR}{_URL_CHAR}*)$"
_IMAGE_URL = re.compile(_IMAGE_URL_PATTERN)


def _image_url(value: str) -> str:
    if not _IMAGE_URL.fullmatch(value):
        raise PydanticCustomError("image_url", "must be an http(s) URL or a path on this site starting with /")
    return value


ImageUrl = Annotated[
    str, Field(max_length=2000, json_schema_extra={"pattern": _IMAGE_URL_PATTERN}), AfterValidator(_image_url)
]
Images = Annotated[list[ImageUrl], Field(max_length=20)]
SpecName = Annotated[str, Field(min_length=1, max_length=100, pattern=NON_BLANK)]
SpecValue = Annotated[str, Field(max_length=1000)]


def _names_not_blank(schema: dict[str, Any]) -> None:
    # pydantic writes a key's pattern as patternProperties, which lets any other key through:
    # the document must say what the shop refuses (a blank name).
    schema.setdefault("propertyNames", {})["pattern"] = NON_BLANK


Specifications = Annotated[dict[SpecName, SpecValue], Field(max_length=100, json_schema_extra=_names_not_blank)]


class Review(StripsText):
    model_config = ConfigDict(extra="forbid")

    user: str = Field(min_length=1, max_length=200, pattern=NON_BLANK)
    rating: Annotated[int, Field(ge=0, le=5, description="whole stars, 0 to 5"), WHOLE_NUMBER]
    comment: str = Field(default="", max_length=5000)


Reviews = Annotated[list[Review], Field(max_length=200)]


class ProductCreate(StripsText):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=NON_BLANK)
    description: str = Field(default="", max_length=5000)
    price: Price
    currency: Currency = "USD"
    stock_quantity: Stock = 0
    category: str = Field(default="", max_length=100)
    brand: str = Field(default="", max_length=100)
    sku: Sku
    images: Images = []
    ratings: Rating = 0.0
    reviews: Reviews = []
    additional_info: str = Field(default="", max_length=5000)
    specifications: Specifications = {}
    model: str = Field(default="", max_length=100)


class ProductUpdate(StripsText):
    """Partial update (PUT and PATCH alike): only the fields sent change. `id`, `created_at`
    and `updated_at` are not here, so sending them is a 422 (extra="forbid")."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=without_nulls)

    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=NON_BLANK)
    description: str | None = Field(default=None, max_length=5000)
    price: Price | None = None
    currency: Currency | None = None
    stock_quantity: Stock | None = None
    category: str | None = Field(default=None, max_length=100)
    brand: str | None = Field(default=None, max_length=100)
    sku: Sku | None = None
    images: Images | None = None
    ratings: Rating | None = None
    reviews: Reviews | None = None
    additional_info: str | None = Field(default=None, max_length=5000)
    specifications: Specifications | None = None
    model: str | None = Field(default=None, max_length=100)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nulls(cls, value: Any) -> Any:
        # None only marks "not sent"; an explicit null would silently change nothing.
        if value is None:
            raise PydanticCustomError("null_value", "may not be null; leave the field out to keep it")
        return value


class Product(BaseModel):
    id: int
    name: str
    description: str
    price: float
    currency: str
    stock_quantity: int
    category: str
    brand: str
    sku: str
    images: list[str]
    ratings: float
    reviews: list[Review]
    additional_info: str
    specifications: dict[str, str]
    model: str
    created_at: str
    updated_at: str

    # mypy does not know pydantic's computed_field over a property (pydantic documents the ignore)
    @computed_field(description="The same as `ratings`, under the name the original UI reads.")  # type: ignore[prop-decorator]
    @property
    def rating(self) -> float:
        return self.ratings

    @property
    def price_cents(self) -> int:
        """The exact price in cents (price is cents / 100, so this round trip is exact)."""
        return round(self.price * 100)


Sort = Literal["name", "-name", "price", "-price", "-created_at"]


def _empty_is_no_filter(schema: dict[str, Any]) -> None:
    # As query parameters: never null, and an empty value (?min_price=, as HTML forms send)
    # is accepted as "no filter" whatever the parameter's type.
    without_nulls(schema)
    for prop in schema.get("properties", {}).values():
        if "enum" in prop:
            prop["enum"] = [*prop["enum"], ""]
        elif prop.get("type") != "string":
            labels = {key: prop.pop(key) for key in ("title", "description") if key in prop}
            typed = dict(prop)
            prop.clear()
            prop.update(labels, anyOf=[typed, {"type": "string", "maxLength": 0}])


QueryPrice = Annotated[
    Decimal,
    Field(ge=0, le=MAX_PRICE),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": float(MAX_PRICE)}),
]


class ProductFilters(BaseModel):
    """`GET /api/products` query parameters. `in_stock=false` lists only products that are
    out of stock; leave it out to list both. A `min_price` above `max_price` is a range no
    price is in: an empty list."""

    # Paging and unknown parameters are not filters.
    model_config = ConfigDict(extra="ignore", json_schema_extra=_empty_is_no_filter)

    q: str | None = Field(default=None, max_length=200)
    category: str | None = Field(default=None, max_length=100)
    brand: str | None = Field(default=None, max_length=100)
    min_price: QueryPrice | None = Field(default=None, description="Lowest price, inclusive.")
    max_price: QueryPrice | None = Field(
        default=None, description="Highest price, inclusive; below min_price, nothing matches."
    )
    in_stock: bool | None = None
    sort: Sort | None = None


# -- stock reservations (the orders service's view) -----------------------------------------

# Safe as a URL path segment (the remote client puts it in one): no "/", no "." or "..".
_RESERVATION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
ReservationId = Annotated[str, Field(pattern=_RESERVATION_ID_PATTERN)]
_RESERVATION_ID = re.compile(_RESERVATION_ID_PATTERN)
MAX_LINE_QUANTITY = 1_000_000
MAX_LINES = 500


def check_reservation_id(reservation_id: str) -> None:
    if not isinstance(reservation_id, str) or not _RESERVATION_ID.fullmatch(reservation_id):
        raise ValidationFailed(
            "A reservation id is 1-128 letters, digits or . _ : - and starts with a letter or digit.",
            [FieldError(("reservation_id",), "invalid reservation id")],
        )


@dataclass(frozen=True)
class StockLine:
    product_id: int
    quantity: int


class StockLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Any integer: an id that cannot exist is "not found", as for the local client.
    product_id: Annotated[int, WHOLE_NUMBER]  # any other id is a product that does not exist: 404
    quantity: Annotated[int, Field(ge=1, le=MAX_LINE_QUANTITY), WHOLE_NUMBER]


class ReservationRequest(BaseModel):
    """Body of POST /internal/products/reservations."""

    model_config = ConfigDict(extra="forbid")

    reservation_id: ReservationId
    lines: Annotated[list[StockLineIn], Field(min_length=1, max_length=MAX_LINES)]


# How many reservations one settle call names (orders sends them in batches).
MAX_SETTLED = 1000


class SettleRequest(BaseModel):
    """Body of POST /internal/products/reservations/settled."""

    model_config = ConfigDict(extra="forbid")

    reservation_ids: Annotated[list[ReservationId], Field(min_length=1, max_length=MAX_SETTLED)]


class ReservedProduct(BaseModel):
    """What a reservation answers of each product, as it was right after the stock was
    taken: what an order needs to price its lines (and the stock left, for the caller)."""

    model_config = ConfigDict(extra="ignore")  # a reservation stores the whole product

    id: int
    name: str
    price: float
    currency: str
    stock_quantity: int

    @property
    def price_cents(self) -> int:
        return round(self.price * 100)


class ReservationOutcome(BaseModel):
    """Answer of POST /internal/products/reservations. A refused reservation is an outcome
    of this RPC, not a transport failure, so it comes back as data the remote client turns
    into the same domain error the local one raises."""

    status: Literal["reserved", "not_found", "out_of_stock"]
    products: list[ReservedProduct] = []
    product_id: int | None = None
    available: int | None = None
    requested: int | None = None
