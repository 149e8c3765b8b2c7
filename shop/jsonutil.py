"""JSON encoding shared by every response, so dates and money look the same everywhere."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web
from pydantic import BaseModel


def _default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON. orjson writes what the standard library would (shortest
    round-trip floats, no spaces, no \\u escapes; only an exponent loses its leading zero,
    1e-7 for 1e-07) several times faster; what it refuses (integers beyond 64 bits) goes
    the standard library's way."""
    try:
        return orjson.dumps(value, default=_default, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:
        return json.dumps(value, default=_default, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(value: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
        value = [item.model_dump(mode="json") for item in value]
    return web.Response(status=status, body=dumps(value), content_type="application/json", headers=headers)
