"""RFC 9457 problem documents: the one shape every error response has."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from aiohttp import web

from shop.jsonutil import dumps

PROBLEM_CONTENT_TYPE = "application/problem+json"


def problem_response(
    status: int,
    detail: str,
    *,
    request_id: str = "",
    title: str | None = None,
    errors: Sequence[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> web.Response:
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body: dict[str, Any] = {
        "type": f"https://shop.local/problems/{phrase.lower().replace(' ', '-')}",
        "title": title or phrase,
        "status": status,
        "detail": detail,
        "request_id": request_id,
    }
    if errors is not None:
        body["errors"] = list(errors)
    if extensions:
        body.update(extensions)
    return web.Response(
        status=status,
        body=dumps(body),
        content_type=PROBLEM_CONTENT_TYPE,
        charset="utf-8",
        headers=headers,
    )
