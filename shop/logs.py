"""Structured logging: one JSON object per line. Callers pass fields with `extra=`, or, for
a line written on every request, through `JsonLines`, which skips the LogRecord.

Nothing here ever logs a body, a password, a token or a hash; the access log records only
the fields the contract names.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
import time
from collections.abc import Mapping
from typing import Any
from datetime import UTC, datetime

import orjson
from aiohttp.http_exceptions import HttpProcessingError

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json_line(entry)


def json_line(entry: Mapping[str, object]) -> str:
    """One compact JSON object; what orjson refuses (integers beyond 64 bits, lone
    surrogates) goes the standard library's way. Anything else unknown is its str()."""
    try:
        return orjson.dumps(entry, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(entry, default=str, ensure_ascii=False, separators=(",", ":"))


def timestamp(created: float) -> str:
    """RFC 3339 UTC to the millisecond, as datetime's isoformat(timespec="milliseconds")
    writes it; the date and time of day are formatted once per second, not per line."""
    seconds = int(created)
    micros = round((created - seconds) * 1_000_000)  # fromtimestamp rounds to microseconds
    if micros >= 1_000_000:
        seconds, micros = seconds + 1, micros - 1_000_000
    return f"{_second(seconds)}.{micros // 1000:03d}+00:00"


@functools.lru_cache(maxsize=4)
def _second(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


class JsonLines:
    """INFO lines of one logger, written as JsonFormatter would write them, without the
    logging machinery in between when it would add nothing: when every handler the record
    would reach is a plain stream or file handler with JsonFormatter and no filter, the line
    goes to their streams directly (a LogRecord, its `extra` attributes and the formatter
    cost several times the line itself). Any other configuration (a filter, a rotating file,
    pytest's capture) gets a LogRecord through `logger.info` like any other line. The
    configuration is read on every line, so a change to it applies at once."""

    _PLAIN = (logging.StreamHandler, logging.FileHandler)  # exactly these: subclasses emit their own way

    def __init__(self, logger: logging.Logger, msg: str) -> None:
        self._logger = logger
        self._msg = msg

    def enabled(self) -> bool:
        return self._logger.isEnabledFor(logging.INFO)

    def info(self, fields: dict[str, object]) -> None:
        """Log one line (the caller checked `enabled()`, so as not to gather the fields)."""
        handlers = self._plain_handlers()
        if handlers is None:
            self._logger.info(self._msg, extra=fields)
            return
        entry: dict[str, object] = {
            "ts": timestamp(time.time()),
            "level": "info",
            "logger": self._logger.name,
            "msg": self._msg,
        }
        entry.update(fields)
        line = json_line(entry)
        for handler in handlers:
            try:
                with handler.lock:  # type: ignore[union-attr]  # always set by Handler.__init__
                    handler.stream.write(line + handler.terminator)
                    handler.stream.flush()
            except Exception:
                # As StreamHandler.emit: report on stderr (logging.raiseExceptions), carry on.
                record = logging.LogRecord(self._logger.name, logging.INFO, "", 0, self._msg, (), None)
                handler.handleError(record)

    def _plain_handlers(self) -> list[logging.StreamHandler[Any]] | None:
        """The handlers an INFO record of the logger reaches (as Logger.callHandlers finds
        them), or None when logging must handle it itself."""
        logger: logging.Logger | None = self._logger
        if self._logger.disabled or self._logger.filters:
            return None
        found: list[logging.StreamHandler[Any]] = []
        while logger is not None:
            for handler in logger.handlers:
                if handler.level > logging.INFO:
                    continue
                if (
                    type(handler) not in self._PLAIN
                    or handler.filters
                    or type(handler.formatter) is not JsonFormatter
                    or getattr(handler, "stream", None) is None  # a FileHandler opened lazily
                ):
                    return None
                found.append(handler)  # type: ignore[arg-type]
            logger = logger.parent if logger.propagate else None
        return found or None  # none: logging's last resort and its one-time warning apply


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet_noisy_loggers()


def quiet_noisy_loggers() -> None:
    # aiohttp-jwt logs a full traceback for every bad token a client sends; the access log
    # line (status 401) already records the event, without the noise.
    logging.getLogger("aiohttp_jwt").setLevel(logging.CRITICAL)
    # aiohttp's own access log would duplicate ours, in another format.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    # A malformed request line or header makes aiohttp log a traceback that quotes the raw
    # bytes, an Authorization header included: keep one line saying what happened.
    server = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, RedactMalformedRequests) for f in server.filters):
        server.addFilter(RedactMalformedRequests())


class RedactMalformedRequests(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            record.msg = "malformed HTTP request rejected (%s)"
            record.args = (type(error).__name__,)
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True
