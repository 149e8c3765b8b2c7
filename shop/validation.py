"""Field types shared by the services' request models."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def _email(value: str) -> str:
    value = value.strip().lower()
    if not _EMAIL.match(value):
        raise ValueError("is not a valid email address")
    return value


# Deliberately a shape check, not deliverability: local and test domains must work.
Email = Annotated[str, Field(max_length=320), AfterValidator(_email)]
