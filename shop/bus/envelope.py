"""The event envelope: what travels on the bus, `{event_id, type, occurred_at, data}` as JSON.

Consumers are idempotent by `event_id`, so it is minted once, when the event is written
(to the outbox), and never again on a re-publish.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from shop.clock import utc_now


@dataclass(frozen=True)
class Envelope:
    event_id: str  # uuid4 hex
    type: str  # "order.created" | "order.status_changed" | "order.cancelled"
    occurred_at: str  # RFC 3339 UTC
    data: dict[str, Any]  # the order

    @classmethod
    def new(cls, type: str, data: dict[str, Any]) -> Envelope:
        return cls(event_id=uuid.uuid4().hex, type=type, occurred_at=utc_now(), data=data)

    def to_json(self) -> bytes:
        document = {"event_id": self.event_id, "type": self.type, "occurred_at": self.occurred_at, "data": self.data}
        return orjson.dumps(document)  # compact UTF-8, as json.dumps(separators, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: bytes) -> Envelope:
        """Parse a value from the bus; ValueError says what is wrong without echoing the value
        (it may hold customer data)."""
        if not isinstance(raw, bytes | bytearray | memoryview):
            raise ValueError(f"envelope must be bytes, not {type(raw).__name__}")
        try:
            document = orjson.loads(bytes(raw))
        except orjson.JSONDecodeError as exc:  # also invalid UTF-8 and nesting too deep
            raise ValueError(f"envelope is not JSON ({type(exc).__name__})") from None
        if not isinstance(document, dict):
            raise ValueError("envelope must be a JSON object")
        for name in ("event_id", "type", "occurred_at"):
            value = document.get(name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"envelope field {name!r} must be a non-empty string")
        if not isinstance(document.get("data"), dict):
            raise ValueError("envelope field 'data' must be a JSON object")
        try:
            moment = datetime.fromisoformat(document["occurred_at"])
        except ValueError:
            raise ValueError("envelope field 'occurred_at' is not an RFC 3339 timestamp") from None
        if moment.tzinfo is None:
            raise ValueError("envelope field 'occurred_at' has no time zone")
        # Unknown top-level fields are ignored: a newer producer may add some.
        return cls(
            event_id=document["event_id"],
            type=document["type"],
            occurred_at=document["occurred_at"],
            data=document["data"],
        )
