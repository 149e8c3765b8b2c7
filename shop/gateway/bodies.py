"""Request bodies: size limit (413), JSON only (415), and parsing into pydantic models."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, TypeAdapter, ValidationError

from shop.errors import BadRequest, FieldError, PayloadTooLarge, UnsupportedMediaType, ValidationFailed

_WITH_BODY = {"POST", "PUT", "PATCH"}

M = TypeVar("M")


def check_body(request: web.Request, max_body_bytes: int) -> None:
    """Refuse a body by its headers, before anything reads it: too large by its
    Content-Length (413; a chunked one is measured as it is read), or not JSON (415)."""
    if request.method in _WITH_BODY:
        length = request.content_length
        if length is not None and length > max_body_bytes:
            raise PayloadTooLarge(f"The request body is larger than {max_body_bytes} bytes.")
        if (length or request.headers.get("Transfer-Encoding")) and not _is_json(request):
            raise UnsupportedMediaType("The request body must be JSON (application/json).")


def _is_json(request: web.Request) -> bool:
    content_type = request.content_type
    return content_type == "application/json" or content_type.endswith("+json")


async def read_json(request: web.Request) -> Any:
    raw = await request.read()  # aiohttp enforces client_max_size here (413)
    if not raw.strip():
        raise BadRequest("The request body is empty; a JSON document is expected.")
    try:
        # As json.loads(raw, parse_constant=...), with one decoder instead of one per call.
        return _DECODER.decode(raw.decode(json.detect_encoding(raw), "surrogatepass"))
    except json.JSONDecodeError as exc:
        raise BadRequest(f"The request body is not valid JSON: {exc}") from None
    except (ValueError, RecursionError):
        # Not UTF-8, NaN/Infinity, an integer past Python's digit limit, or nesting deeper
        # than the parser's recursion limit: all malformed input, none a server fault.
        raise BadRequest("The request body is not valid JSON.") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def validation_failed(exc: ValidationError) -> ValidationFailed:
    field_errors = [FieldError(loc=tuple(e["loc"]), msg=_message(e)) for e in exc.errors(include_url=False)]
    return ValidationFailed("The request body failed validation.", field_errors)


def _message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown or read-only field"
    return str(error["msg"])


async def read_model(request: web.Request, model: type[M]) -> M:
    data = await read_json(request)
    return parse_model(data, model)


def parse_model(data: Any, model: type[M]) -> M:
    try:
        if isinstance(model, type) and issubclass(model, BaseModel):
            return model.model_validate(data)
        return TypeAdapter(model).validate_python(data)
    except ValidationError as exc:
        raise validation_failed(exc) from None
