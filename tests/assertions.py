"""Assertions shared by the tests: the problem-document shape every error must have."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientResponse

PROBLEM_KEYS = {"type", "title", "status", "detail", "request_id"}


async def problem(response: ClientResponse, status: int) -> dict[str, Any]:
    """Assert `response` is an RFC 9457 problem document with `status`; return its body."""
    text = await response.text()
    assert response.status == status, text
    assert response.content_type == "application/problem+json", (response.content_type, text)
    body = await response.json(content_type=None)
    assert PROBLEM_KEYS <= set(body), body
    assert body["status"] == status
    assert body["detail"] and body["title"] and body["type"]
    assert body["request_id"] and body["request_id"] == response.headers["X-Request-ID"]
    return body  # type: ignore[no-any-return]


async def validation_problem(response: ClientResponse, *fields: str) -> dict[str, Any]:
    """A 422 whose `errors` list names each of `fields` (the last part of each `loc`)."""
    body = await problem(response, 422)
    assert isinstance(body.get("errors"), list) and body["errors"], body
    for error in body["errors"]:
        assert set(error) == {"loc", "msg"} and isinstance(error["loc"], list) and error["msg"], error
    named = {error["loc"][-1] for error in body["errors"] if error["loc"]}
    assert set(fields) <= named, (fields, body["errors"])
    return body
