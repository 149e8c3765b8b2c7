from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shop.validation import NON_BLANK, Email, StripsText, without_nulls

Text = Field(default="", max_length=500)


class ProfileFields(StripsText):
    model_config = ConfigDict(extra="forbid")

    address: str = Text
    city: str = Text
    mobile: str = Field(default="", max_length=40)
    preferences: str = Text
    location: str = Text
    sex: str = Field(default="", max_length=40)
    interests: str = Text


class CustomerCreate(ProfileFields):
    name: str = Field(min_length=1, max_length=200, pattern=NON_BLANK)
    email: Email


class CustomerUpdate(StripsText):
    """Partial update: only fields sent are changed. `id` and `email` are not here, so
    sending them is a 422 (extra="forbid")."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=without_nulls)

    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=NON_BLANK)
    address: str | None = Field(default=None, max_length=500)
    city: str | None = Field(default=None, max_length=500)
    mobile: str | None = Field(default=None, max_length=40)
    preferences: str | None = Field(default=None, max_length=500)
    location: str | None = Field(default=None, max_length=500)
    sex: str | None = Field(default=None, max_length=40)
    interests: str | None = Field(default=None, max_length=500)

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # None only stands for "not sent"; an explicit null would otherwise be dropped
        # silently, and the client would believe it had cleared the field.
        if value is None:
            raise ValueError("must be a string; leave the field out to keep its value")
        return value


class Customer(BaseModel):
    id: int
    name: str
    email: str
    address: str
    city: str
    mobile: str
    preferences: str
    location: str
    sex: str
    interests: str
    created_at: str
    updated_at: str
