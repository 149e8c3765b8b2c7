"""The envelope is the documented wire format: {event_id, type, occurred_at, data}."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest

from shop.bus import create_bus
from shop.bus.envelope import Envelope
from shop.bus.kafka import KafkaBus
from shop.bus.memory import MemoryBus
from shop.config import BusConfig


def test_new_mints_an_id_and_an_rfc3339_utc_time() -> None:
    first, second = Envelope.new("order.created", {"id": 1}), Envelope.new("order.created", {"id": 1})
    assert re.fullmatch(r"[0-9a-f]{32}", first.event_id)
    assert first.event_id != second.event_id
    assert first.occurred_at.endswith("Z")
    assert datetime.fromisoformat(first.occurred_at).utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_json_round_trip_is_the_documented_object() -> None:
    envelope = Envelope.new("order.cancelled", {"id": 3, "total": 12.5, "name": "Café"})
    document = json.loads(envelope.to_json())
    assert document == {
        "event_id": envelope.event_id,
        "type": "order.cancelled",
        "occurred_at": envelope.occurred_at,
        "data": {"id": 3, "total": 12.5, "name": "Café"},
    }
    assert Envelope.from_json(envelope.to_json()) == envelope


def test_unknown_fields_from_a_newer_producer_are_ignored() -> None:
    raw = json.dumps(
        {"event_id": "e1", "type": "order.created", "occurred_at": "2024-05-01T10:00:00Z", "data": {}, "v": 2}
    ).encode()
    assert Envelope.from_json(raw) == Envelope("e1", "order.created", "2024-05-01T10:00:00Z", {})


GOOD = {"event_id": "e1", "type": "order.created", "occurred_at": "2024-05-01T10:00:00Z", "data": {"id": 1}}


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"\xff\xfe\x00",
        b"[" * 100_000,
        b"[]",
        b"null",
        json.dumps({k: v for k, v in GOOD.items() if k != "event_id"}).encode(),
        json.dumps({**GOOD, "type": ""}).encode(),
        json.dumps({**GOOD, "type": 5}).encode(),
        json.dumps({**GOOD, "data": [1]}).encode(),
        json.dumps({**GOOD, "occurred_at": "yesterday"}).encode(),
        json.dumps({**GOOD, "occurred_at": "2024-05-01T10:00:00"}).encode(),
    ],
    ids=[
        "empty",
        "text",
        "not-utf8",
        "too-deep",
        "array",
        "null",
        "no-event-id",
        "empty-type",
        "numeric-type",
        "data-not-object",
        "bad-time",
        "naive-time",
    ],
)
def test_a_malformed_value_raises_value_error(raw: bytes) -> None:
    with pytest.raises(ValueError):
        Envelope.from_json(raw)


def test_a_missing_value_raises_value_error() -> None:
    with pytest.raises(ValueError):
        Envelope.from_json(None)  # type: ignore[arg-type]  # a Kafka tombstone


def test_create_bus_picks_the_broker_by_kind() -> None:
    assert isinstance(create_bus(BusConfig.model_validate({"kind": "memory"})), MemoryBus)
    assert isinstance(create_bus(BusConfig.model_validate({"kind": "kafka"})), KafkaBus)
