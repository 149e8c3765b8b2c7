from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shop.validation import NON_BLANK, Email

from shop.services.customers.models import ProfileFields

Role = Literal["customer", "admin"]


class RegisterRequest(ProfileFields):
    """Registration also creates the customer profile, so it takes the profile fields too."""

    name: str = Field(min_length=1, max_length=200, pattern=NON_BLANK)
    email: Email
    # Never trimmed (the profile fields are): login compares the password exactly as typed.
    _keep_as_sent = frozenset({"password"})
    password: Annotated[str, StringConstraints(min_length=8, max_length=1024)]


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class User(BaseModel):
    id: int
    name: str
    email: str
    role: Role


class TokenResponse(BaseModel):
    token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    user: User
