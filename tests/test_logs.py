"""Logs never carry a token, even when a client sends a request aiohttp cannot parse; lines
written straight to a stream are the lines the formatter writes, under the same configuration."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import logging
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shop.logs import JsonFormatter, JsonLines, json_line, quiet_noisy_loggers, timestamp
from tests.processes import start_shop
from tests.waiting import eventually, holds


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


def lines_logger() -> tuple[logging.Logger, io.StringIO]:
    """A logger of its own writing JSON lines to a string, and nowhere else, as in a
    deployment. Made in the test itself: pytest adds its capture to every non-propagating
    logger when a test starts, and that would be one handler more."""
    logger = logging.getLogger(f"shop.test.lines.{next(_names)}")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, stream


_names = itertools.count()
FIELDS: dict[str, object] = {
    "request_id": "f" * 32,
    "method": "GET",
    "path": "/api/products/1",
    "status": 200,
    "duration_ms": 0.42,
    "caller_id": None,
    "remote": "127.0.0.1",
}


def without_ts(line: str) -> dict[str, object]:
    entry = json.loads(line)
    assert isinstance(entry.pop("ts"), str)
    return entry


def test_a_direct_line_is_the_line_the_formatter_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    logger, stream = lines_logger()
    formatted = JsonFormatter().format(
        logger.makeRecord(logger.name, logging.INFO, __file__, 1, "request", (), None, extra=dict(FIELDS))
    )
    monkeypatch.setattr(logger, "makeRecord", None)  # written without a LogRecord
    JsonLines(logger, "request").info(dict(FIELDS))
    written = stream.getvalue()
    assert written.endswith("\n") and written.count("\n") == 1
    # Byte for byte but the time: the same keys, in the same order, the same encoding.
    assert list(json.loads(written)) == list(json.loads(formatted))
    assert written.split(",", 1)[1] == formatted.split(",", 1)[1] + "\n"
    assert without_ts(written) == {"level": "info", "logger": logger.name, "msg": "request", **FIELDS}


def test_direct_lines_follow_the_level_and_the_handlers_level() -> None:
    logger, stream = lines_logger()
    lines = JsonLines(logger, "request")
    logger.setLevel(logging.WARNING)
    assert not lines.enabled()
    logger.setLevel(logging.INFO)
    assert lines.enabled()
    logger.handlers[0].setLevel(logging.WARNING)
    lines.info(dict(FIELDS))
    assert stream.getvalue() == ""


def test_any_other_configuration_gets_a_log_record() -> None:
    logger, stream = lines_logger()
    seen: list[logging.LogRecord] = []

    def keep(record: logging.LogRecord) -> bool:
        seen.append(record)
        return record.__dict__["status"] != 500

    logger.handlers[0].addFilter(keep)
    lines = JsonLines(logger, "request")
    lines.info(dict(FIELDS))
    lines.info({**FIELDS, "status": 500})
    assert [record.__dict__["status"] for record in seen] == [200, 500]
    assert [without_ts(line)["status"] for line in stream.getvalue().splitlines()] == [200]


@pytest.mark.parametrize("created", [0.0, 1.9999996, 1764547200.1234, 1764547200.9995, 1764547259.99999])
def test_timestamps_are_what_datetime_writes(created: float) -> None:
    assert timestamp(created) == datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")


def test_what_orjson_refuses_is_still_logged() -> None:
    assert json.loads(json_line({"big": 2**70, "odd": "\ud800"})) == {"big": 2**70, "odd": "\ud800"}


def stream_logger(stream: io.TextIOBase) -> tuple[logging.Logger, logging.Handler]:
    """A logger of its own writing JSON lines to `stream` (the test removes the handler)."""
    logger = logging.getLogger(f"shop.test.lines.{next(_names)}")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, handler


async def test_direct_lines_go_out_together_soon_in_order_with_other_lines(tmp_path: Path) -> None:
    # sys.stderr is line-buffered: a file with a UTF-8 byte buffer stands in for it here.
    path = tmp_path / "shop.log"
    stream = open(path, "w", encoding="utf-8", buffering=1)
    logger, handler = stream_logger(stream)
    try:
        lines = JsonLines(logger, "request")
        lines.info({**FIELDS, "status": 201})
        lines.info({**FIELDS, "status": 202})
        assert path.read_text() == ""  # held for one write, FLUSH_SECONDS later at most
        await eventually(lambda: holds(path.read_text() != ""), "the held lines to be written")
        assert [json.loads(line)["status"] for line in path.read_text().splitlines()] == [201, 202]
        lines.info({**FIELDS, "status": 203})
        logger.warning("a line through logging", extra={"status": 500})  # flushes what is held first
        lines.info({**FIELDS, "status": 204})
        await eventually(lambda: holds(path.read_text().count("\n") == 5), "the last line to be written")
        assert [json.loads(line)["status"] for line in path.read_text().splitlines()] == [201, 202, 203, 500, 204]
    finally:
        logger.removeHandler(handler)
        stream.close()


class CountingFile(io.FileIO):
    """A raw, unbuffered file, as sys.stderr's byte layer is under PYTHONUNBUFFERED=1."""

    writes = 0

    def write(self, data: object) -> int:  # type: ignore[override]
        CountingFile.writes += 1
        return super().write(data)  # type: ignore[arg-type]


async def test_held_lines_are_one_write_even_on_an_unbuffered_stream(tmp_path: Path) -> None:
    path = tmp_path / "shop.log"
    raw = CountingFile(path, "w")
    stream = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)  # type: ignore[type-var]
    logger, handler = stream_logger(stream)
    try:
        lines = JsonLines(logger, "request")
        CountingFile.writes = 0
        for status in range(200, 250):
            lines.info({**FIELDS, "status": status})
        assert CountingFile.writes == 0  # held: no system call per line
        await eventually(lambda: holds(path.read_text().count("\n") == 50), "the held lines to be written")
        assert CountingFile.writes == 1
        assert [json.loads(line)["status"] for line in path.read_text().splitlines()] == list(range(200, 250))
    finally:
        logger.removeHandler(handler)
        stream.close()


def test_lines_held_when_the_process_ends_are_written() -> None:
    # The loop closes before FLUSH_SECONDS pass: the exit hook writes what is held.
    script = (
        "import asyncio, logging\n"
        "from shop.logs import JsonLines, configure_logging\n"
        "configure_logging('INFO')\n"
        "async def main():\n"
        "    JsonLines(logging.getLogger('shop.access'), 'request').info({'status': 200})\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60, check=True)
    assert [json.loads(line)["status"] for line in done.stderr.decode().splitlines()] == [200]
