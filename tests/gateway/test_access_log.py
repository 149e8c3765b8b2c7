"""The access log: one structured JSON line per request with the fields the contract names,
and never a password, a token or a hash anywhere in the logs."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from shop.logs import JsonFormatter
from tests.conftest import Api

PASSWORD = "log-me-never-7391"


def lines(caplog: pytest.LogCaptureFixture, logger: str | None = None) -> list[dict[str, Any]]:
    formatter = JsonFormatter()
    return [
        json.loads(formatter.format(record))
        for record in caplog.records
        if logger is None or record.name == logger
    ]


def everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    # aiohttp's own access log is the test server's; run.py turns it off (access_log=None).
    formatter = JsonFormatter()
    return "\n".join(formatter.format(r) for r in caplog.records if r.name != "aiohttp.access")


async def test_one_line_per_request_with_the_contract_fields(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    register = await api.client.post(
        "/api/auth/register", json={"name": "Ann", "email": "ann@example.com", "password": PASSWORD}
    )
    token = (await register.json())["token"]
    login = await api.client.post("/api/auth/login", json={"email": "ann@example.com", "password": PASSWORD})
    login_token = (await login.json())["token"]
    me = await api.client.get("/api/auth/me", headers={"Authorization": f"Bearer {login_token}"})
    user_id = (await me.json())["id"]
    missing = await api.client.get("/api/customers/999999?secret=query", headers={"Authorization": login_token})

    access = lines(caplog, "shop.access")
    responses = [register, login, me, missing]
    assert len(access) == len(responses)
    for line, response in zip(access, responses, strict=True):
        assert line["request_id"] == response.headers["X-Request-ID"]
        assert line["method"] == response.method
        assert line["path"] == response.url.path
        assert line["status"] == response.status
        assert isinstance(line["duration_ms"], float | int) and line["duration_ms"] >= 0
        assert "caller_id" in line
        assert line["level"] == "info" and line["ts"]
    assert [line["caller_id"] for line in access] == [None, None, user_id, user_id]
    assert [line["status"] for line in access] == [201, 200, 200, 404]

    everything = everything_logged(caplog)
    for secret in (PASSWORD, token, login_token, "$argon2", "secret=query"):
        assert secret not in everything


async def test_rejected_tokens_are_not_logged(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    forged = "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXNlY3JldA"
    response = await api.client.get("/api/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status == 401
    everything = everything_logged(caplog)
    assert forged not in everything and "c2lnbmF0dXJlLXNlY3JldA" not in everything
    (line,) = lines(caplog, "shop.access")
    assert line["status"] == 401 and line["caller_id"] is None


async def test_log_lines_are_single_line_json(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    await api.client.get("/health", headers={"X-Request-ID": "line-check-1"})
    formatter = JsonFormatter()
    for record in caplog.records:
        text = formatter.format(record)
        assert "\n" not in text
        json.loads(text)
