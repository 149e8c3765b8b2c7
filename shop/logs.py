"""Structured logging: one JSON object per line. Callers pass fields with `extra=`, or, for
a line written on every request, through `JsonLines`, which skips the LogRecord.

Nothing here ever logs a body, a password, a token or a hash; the access log records only
the fields the contract names.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson
from aiohttp.http_exceptions import HttpProcessingError

# How long a direct line may wait in the stream's buffer before it is written out.
FLUSH_SECONDS = 0.01

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


def json_bytes(entry: Mapping[str, object]) -> bytes:
    """The same line as UTF-8 bytes; in the standard library's way, with ASCII escapes, so
    that a lone surrogate stays representable."""
    try:
        return orjson.dumps(entry, default=str, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:
        return json.dumps(entry, default=str, separators=(",", ":")).encode()


class _Sink(NamedTuple):
    """Where a handler's lines go: through the stream's byte buffer when it has a UTF-8 one
    (sys.stderr is line-buffered, and its text layer would make every line a system call of
    its own), else through the stream."""

    handler: logging.StreamHandler[Any]
    write: Callable[[bytes], object]

    @classmethod
    def of(cls, handler: logging.StreamHandler[Any]) -> _Sink:
        stream = handler.stream
        buffer = getattr(stream, "buffer", None)
        terminator = handler.terminator
        if buffer is not None and str(getattr(stream, "encoding", "")).lower().replace("-", "") == "utf8":
            # A buffered writer takes a whole line at once under a lock of its own.
            end = terminator.encode()
            return cls(handler, lambda line: buffer.write(line + end))
        lock = handler.lock
        assert lock is not None  # set by Handler.__init__

        def write_text(line: bytes) -> None:
            with lock:
                stream.write(line.decode() + terminator)

        return cls(handler, write_text)


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
    configuration is read again after every flush, so a change to it applies within
    FLUSH_SECONDS."""

    _PLAIN = (logging.StreamHandler, logging.FileHandler)  # exactly these: subclasses emit their own way

    def __init__(self, logger: logging.Logger, msg: str) -> None:
        self._logger = logger
        self._msg = msg
        self._pending: list[_Sink] | None = None  # written to since the last flush
        # What follows the time in every line, as JsonFormatter orders it: level, logger, msg.
        constant = orjson.dumps({"level": "info", "logger": logger.name, "msg": msg})
        self._after_time = b'",' + constant[1:-1] + b","
        self._millis, self._millis_text = -1, b""

    def enabled(self) -> bool:
        return self._logger.isEnabledFor(logging.INFO)

    def _now(self) -> bytes:
        """The time as `timestamp` writes it, formatted once per millisecond: a busy turn
        of the loop writes many lines within one."""
        millis = time.time_ns() // 1_000_000
        if millis != self._millis:
            seconds, rest = divmod(millis, 1000)
            self._millis, self._millis_text = millis, f"{_second(seconds)}.{rest:03d}+00:00".encode()
        return self._millis_text

    def info(self, fields: dict[str, object]) -> None:
        """Log one line (the caller checked `enabled()`, so as not to gather the fields)."""
        # While a flush is pending, the handlers found for the first line since still serve.
        sinks = self._pending or self._plain_sinks()
        if sinks is None:
            self._logger.info(self._msg, extra=fields)
            return
        rest = json_bytes(fields)[1:]  # the fields' members and the closing brace
        after_time = self._after_time if rest != b"}" else self._after_time[:-1]
        line = b'{"ts":"' + self._now() + after_time + rest
        for handler, write in sinks:
            try:
                write(line)
            except Exception:
                self._failed(handler)
        if not self._pending:
            self._flush_later(sinks)

    def _flush_later(self, sinks: list[_Sink]) -> None:
        """Lines go out in one write per FLUSH_SECONDS, not a write (a system call) each,
        which cost as much as the rest of the line. A kill -9 loses at most that long's
        lines; a clean stop flushes them (logging.shutdown at exit)."""
        try:
            asyncio.get_running_loop().call_later(FLUSH_SECONDS, self._flush)
        except RuntimeError:  # no loop here (a thread, a script): flush now
            for handler, _ in sinks:
                self._flush_handler(handler)
            return
        self._pending = sinks

    def _flush(self) -> None:
        sinks, self._pending = self._pending, None
        for handler, _ in sinks or ():
            self._flush_handler(handler)

    def _flush_handler(self, handler: logging.StreamHandler[Any]) -> None:
        try:
            with handler.lock:  # type: ignore[union-attr]
                handler.stream.flush()
        except Exception:
            self._failed(handler)

    def _failed(self, handler: logging.Handler) -> None:
        # As StreamHandler.emit: report on stderr (logging.raiseExceptions), carry on.
        record = logging.LogRecord(self._logger.name, logging.INFO, "", 0, self._msg, (), None)
        handler.handleError(record)

    def _plain_sinks(self) -> list[_Sink] | None:
        """The handlers an INFO record of the logger reaches (as Logger.callHandlers finds
        them), or None when logging must handle it itself."""
        logger: logging.Logger | None = self._logger
        if self._logger.disabled or self._logger.filters:
            return None
        found: list[_Sink] = []
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
                found.append(_Sink.of(handler))  # type: ignore[arg-type]
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
