"""The original UI saves a profile by sending back the whole record it loaded: `id`, `email`,
`role`, `created_at` and `updated_at` included. Those fields are not changed through an update;
sent back as they are, they are dropped before validation, so the update model still refuses
them (422) when they differ, and any unknown field as before.

`updated_at` moves with every save, so the UI may hold an older one: it is dropped whenever it
is a string. `role` is not part of a profile (it belongs to the login): it is dropped when the
caller saves their own profile with their own role; any other role is refused (422), so
nobody believes they changed it.
"""

from __future__ import annotations

from typing import Any

from shop.gateway.context import Caller
from shop.services.customers.models import Customer


def without_echoed_fields(body: Any, stored: Customer, caller: Caller) -> Any:
    if not isinstance(body, dict):
        return body  # validation says what is wrong with it
    unchanged = {
        "id": body.get("id") == stored.id and not isinstance(body.get("id"), bool),
        "email": isinstance(body.get("email"), str) and body["email"].strip().lower() == stored.email.lower(),
        "created_at": body.get("created_at") == stored.created_at,
        "updated_at": isinstance(body.get("updated_at"), str),
        "role": caller.user_id == stored.id and body.get("role") == caller.role,
    }
    return {name: value for name, value in body.items() if not unchanged.get(name, False)}
