"""The access log: one structured JSON line per request with the fields the contract names,
and never a password, a token or a hash anywhere in the logs."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from shop.logs import JsonFormatter
from tests.conftest import Api
from tests.waiting import eventually

PASSWORD = "log-me-never-7391"


def lines(caplog: pytest.LogCaptureFixture, logger: str | None = None) -> list[dict[str, Any]]:
    formatter = JsonFormatter()
    return [
        json.loads(formatter.format(record)) for record in caplog.records if logger is None or record.name == logger
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


@pytest.fixture
def access_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("shop.access")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    yield logger
    logger.handlers[:], level, logger.propagate = saved
    logger.setLevel(level)


def write_to_string(logger: logging.Logger) -> io.StringIO:
    """`logger` configured as a deployment configures it (a plain stream handler with
    JsonFormatter and nothing else), so its lines go out without a LogRecord. Called in the
    test itself: pytest adds its capture to non-propagating loggers when a test starts."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return stream


async def test_direct_lines_carry_the_contract_fields(
    api: Api, access_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = write_to_string(access_logger)
    monkeypatch.setattr(access_logger, "makeRecord", None)  # every line goes straight to the stream
    user = await api.register(password=PASSWORD)
    responses = [
        await api.client.get("/api/products/1"),  # no token: the fast path
        await api.client.get("/api/auth/me", headers={"Authorization": user.token}),
        await api.client.get("/api/products/999999?q=secret-term", headers=user.headers),
        await api.client.get("/api/auth/me", headers={"Authorization": user.token + "x"}),
    ]

    async def every_line() -> str | None:  # held for one write, FLUSH_SECONDS at most
        text = stream.getvalue()
        return text if text.count("\n") == 1 + len(responses) else None

    written = await eventually(every_line, "the access lines")
    access = [json.loads(line) for line in written.splitlines()][1:]  # after the registration's
    assert len(access) == len(responses)
    for line, response in zip(access, responses, strict=True):
        assert line["request_id"] == response.headers["X-Request-ID"]
        assert (line["method"], line["path"], line["status"]) == ("GET", response.url.path, response.status)
        assert line["logger"] == "shop.access" and line["level"] == "info" and line["msg"] == "request"
        assert line["remote"] == "127.0.0.1" and line["duration_ms"] >= 0 and line["ts"]
    assert [line["caller_id"] for line in access] == [None, user.id, user.id, None]
    assert [line["status"] for line in access] == [200, 200, 404, 401]
    for secret in (PASSWORD, user.token, "secret-term", "$argon2"):
        assert secret not in written
