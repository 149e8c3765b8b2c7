"""Field types shared by the services' request models."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Self

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def _email(value: str) -> str:
    value = value.strip().lower()
    if not _EMAIL.match(value):
        raise ValueError("is not a valid email address")
    return value


# Deliberately a shape check, not deliverability: local and test domains must work.
Email = Annotated[str, Field(max_length=320, json_schema_extra={"format": "email"}), AfterValidator(_email)]


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


# Unicode's White_Space characters but U+0085: what a text field loses at its ends.
WHITE_SPACE = "\t\n\x0b\x0c\r \xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"

# A required text: a character that is not White_Space (or is U+0085). Python's re (the
# fuzzer), ECMA-262 (the document's validators) and Rust's regex (pydantic) each read \s
# differently; with \x1c-\x1f, U+0085 and U+FEFF named, all three read this alike.
NON_BLANK = r"[^\s]|[\x1c-\x1f\x85\ufeff]"


class StripsText(BaseModel):
    """A request body whose text fields lose the White_Space at their ends once validated.

    After, not before (pydantic's str_strip_whitespace): the document's bounds (minLength,
    maxLength, pattern) are what a client checks the value it sends against, so the shop
    checks the same value; a name of spaces is refused by its NON_BLANK pattern instead."""

    _keep_as_sent: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _strip_text(self) -> Self:
        for name, value in self.__dict__.items():
            if isinstance(value, str) and name not in self._keep_as_sent:
                self.__dict__[name] = value.strip(WHITE_SPACE)
        return self
