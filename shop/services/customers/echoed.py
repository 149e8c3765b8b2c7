"""The original UI saves a profile by sending back the whole record it loaded: `id`, `email`,
`role`, `created_at` and `updated_at` included. Those fields are not changed through an update;
sent back as they are, they are dropped before validation, so the update model still refuses
them (422) when they differ, and any unknown field as before.

`role` is not part of a profile (it belongs to the login) and `updated_at` moves with every
save, so the UI may hold an older one: both are dropped whenever they are well-formed.
"""

from __future__ import annotations

from typing import Any

from shop.services.customers.models import Customer

_ROLES = ("customer", "admin")


def without_echoed_fields(body: Any, stored: Customer) -> Any:
    if not isinstance(body, dict):
        return body  # validation says what is wrong with it
    unchanged = {
        "id": body.get("id") == stored.id and not isinstance(body.get("id"), bool),
        "email": isinstance(body.get("email"), str) and body["email"].strip().lower() == stored.email.lower(),
        "created_at": body.get("created_at") == stored.created_at,
        "updated_at": isinstance(body.get("updated_at"), str),
        "role": body.get("role") in _ROLES,
    }
    return {name: value for name, value in body.items() if not unchanged.get(name, False)}
