"""Field types shared by the services' request models."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def _email(value: str) -> str:
    value = value.strip().lower()
    if not _EMAIL.match(value):
        raise ValueError("is not a valid email address")
    return value


# Deliberately a shape check, not deliverability: local and test domains must work.
Email = Annotated[
    str, Field(max_length=320, json_schema_extra={"format": "email"}), AfterValidator(_email)
]


def _whole_number(value: Any) -> Any:
    # JSON Schema's "integer" is any number without a fraction, 3.0 included, and clients
    # generated from the document may send it so; a string or a boolean is still refused.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PydanticCustomError("int_type", "must be a whole number")
    if isinstance(value, float):
        if not value.is_integer():
            raise PydanticCustomError("int_from_float", "must be a whole number")
        return int(value)
    return value


# For an int field: takes JSON numbers without a fraction (3 and 3.0) and nothing else.
# It goes after the field's Field(...) in Annotated, so the bounds stay in its JSON Schema.
WHOLE_NUMBER = BeforeValidator(_whole_number)


def without_nulls(schema: dict[str, Any]) -> None:
    """`json_schema_extra` of a partial-update model: its Python types say `| None` only to
    mark "not sent", so the documented body has no null (the model refuses one) and no default."""
    for prop in schema.get("properties", {}).values():
        options = prop.pop("anyOf", None)
        if options is not None:
            prop.update(next(o for o in options if o.get("type") != "null"))
        prop.pop("default", None)


# The schema of a required text in a model that strips whitespace (str_strip_whitespace):
# minLength 1 alone would let " " through the document and not through the model. The model
# strips Unicode White_Space (pydantic-core is Rust); Python's \s also takes \x1c-\x1f, which
# are not, so they are named: "a character that is not White_Space" read alike by both.
NON_BLANK: dict[str, Any] = {"pattern": r"[^\s]|[\x1c-\x1f]"}
