"""Logs never carry a token, even when a client sends a request aiohttp cannot parse."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from shop.logs import quiet_noisy_loggers
from tests.processes import start_shop


async def test_a_malformed_header_with_a_token_is_logged_without_it(tmp_path: Path) -> None:
    shop = await start_shop(tmp_path / "data")
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2VjcmV0LXNpZ25hdHVyZQ"
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", shop.port)
        writer.write(f"GET /api/auth/me HTTP/1.1\r\nHost: x\r\nAuthorization : Bearer {token}\r\n\r\n".encode())
        await writer.drain()
        answer = await reader.read(200)
        writer.close()
        assert answer.split(b" ")[1] == b"400", answer
    finally:
        await shop.stop()
    log = shop.log()
    assert "malformed HTTP request rejected" in log
    assert token not in log


def test_the_redaction_filter_is_installed_once() -> None:
    quiet_noisy_loggers()
    quiet_noisy_loggers()
    server = logging.getLogger("aiohttp.server")
    assert len([f for f in server.filters if type(f).__name__ == "RedactMalformedRequests"]) == 1

