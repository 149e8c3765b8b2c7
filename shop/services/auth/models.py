from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

from shop.services.customers.models import ProfileFields
from shop.validation import NON_BLANK, Email

Role = Literal["customer", "admin"]
# Never trimmed (the profile fields are): login compares the password exactly as typed.
Password = Annotated[str, StringConstraints(strip_whitespace=False, min_length=8, max_length=1024)]


class RegisterRequest(ProfileFields):
    """Registration also creates the customer profile, so it takes the profile fields too."""

    name: str = Field(min_length=1, max_length=200, pattern=NON_BLANK)
    email: Email
    # Never trimmed (the profile fields are): login compares the password exactly as typed.
    _keep_as_sent = frozenset({"password", "confirm_password"})
    password: Password
    # The original UI sends the confirmation it asked for; it is checked, never stored.
    confirm_password: Annotated[str, StringConstraints(strip_whitespace=False, max_length=1024)] | None = Field(
        default=None, validation_alias=AliasChoices("confirmPassword", "confirm_password"), exclude=True
    )

    @field_validator("confirm_password")
    @classmethod
    def _confirms_password(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and "password" in info.data and value != info.data["password"]:
            raise ValueError("does not match the password")
        return value


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


class RegisterResponse(TokenResponse):
    message: str = "Registration successful."  # what the original UI shows after registering


class ForgotPasswordRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Not validated as an address: any answer but the one 202 would tell what exists.
    email: str = Field(max_length=320)


class PasswordResetAccepted(BaseModel):
    message: str = "If an account exists for this email, a password reset token has been sent to it."


class ChangePasswordRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(max_length=1024)
    new_password: Password


class ResetPasswordRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=200)
    password: Password
