"""Structured logging: one JSON object per line. Callers pass fields with `extra=`, or, for
a line written on every request, through `JsonLines`, which skips the LogRecord.

Nothing here ever logs a body, a password, a token or a hash; the access log records only
the fields the contract names.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import json
import logging
import sys
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson
from aiohttp.http_exceptions import HttpProcessingError

# How long a direct line may be held before it is written out.
FLUSH_SECONDS = 0.01

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        if _HOLDING:  # lines held on this thread go out first: the log stays in order
            write_held_lines(threading.get_ident())
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
    """Where a handler's held lines go: as one block of bytes into the stream's byte buffer
    when it has a UTF-8 one (sys.stderr, a file), else as text through the stream."""

    handler: logging.StreamHandler[Any]
    buffer: Any  # io.BufferedWriter, or the raw file under PYTHONUNBUFFERED=1; None: text
    end: bytes  # the handler's terminator

    @classmethod
    def of(cls, handler: logging.StreamHandler[Any]) -> _Sink:
        stream = handler.stream
        buffer = getattr(stream, "buffer", None)
        if str(getattr(stream, "encoding", "")).lower().replace("-", "") != "utf8":
            buffer = None
        return cls(handler, buffer, handler.terminator.encode())

    def write(self, lines: list[bytes]) -> None:
        block = self.end.join(lines) + self.end
        with self.handler.lock:  # type: ignore[union-attr]  # set by Handler.__init__
            stream = self.handler.stream
            if self.buffer is None:
                stream.write(block.decode())
            else:
                stream.flush()  # what went through the text layer before stays before
                view = memoryview(block)
                while view:
                    written = self.buffer.write(view)  # a raw file may take part of it
                    if not written:
                        raise BlockingIOError("the log stream took nothing")
                    view = view[written:]
            stream.flush()


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
        self._held: list[bytes] = []  # lines not written yet, FLUSH_SECONDS at most
        self._sinks: list[_Sink] | None = None  # where the held lines go
        self._lock = threading.Lock()  # the exit hook writes from the main thread
        self.thread = 0  # the thread the held lines were logged on
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
        # While lines are held, the handlers found for the first of them still serve.
        sinks = self._sinks or self._plain_sinks()
        if sinks is None:
            self._logger.info(self._msg, extra=fields)
            return
        rest = json_bytes(fields)[1:]  # the fields' members and the closing brace
        after_time = self._after_time if rest != b"}" else self._after_time[:-1]
        line = b'{"ts":"' + self._now() + after_time + rest
        with self._lock:
            self._held.append(line)
            if len(self._held) > 1:
                return
            self._sinks, self.thread = sinks, threading.get_ident()
        _HOLDING.add(self)
        self._flush_later()

    def _flush_later(self) -> None:
        """Held lines go out in one write per FLUSH_SECONDS, not a write (a system call)
        each, which costs as much as the rest of the line, and more than that when the
        stream is unbuffered (PYTHONUNBUFFERED=1, as many container images set). A kill -9
        loses at most that long's lines; a clean stop writes them (atexit)."""
        try:
            asyncio.get_running_loop().call_later(FLUSH_SECONDS, self.flush)
        except RuntimeError:  # no loop here (a thread, a script): write now
            self.flush()

    def flush(self) -> None:
        """Write the lines held so far."""
        with self._lock:
            held, self._held = self._held, []
            sinks, self._sinks = self._sinks, None
        _HOLDING.discard(self)
        for sink in sinks or ():
            try:
                sink.write(held)
            except Exception:
                self._failed(sink.handler)

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
                found.append(_Sink.of(handler))  # type: ignore[arg-type]  # a _PLAIN type: a StreamHandler
            logger = logger.parent if logger.propagate else None
        return found or None  # none: logging's last resort and its one-time warning apply


# The JsonLines holding lines right now (strong references only until they are written).
_HOLDING: set[JsonLines] = set()


def write_held_lines(thread: int | None = None) -> None:
    """Write the lines JsonLines hold (those held on `thread` only, if given): before a line
    that goes through logging on that thread, so the log stays in order, and at exit. Only
    that thread's: a handler's lock is taken to write, and taking another handler's lock
    while formatting under one's own could deadlock against a second thread."""
    for lines in list(_HOLDING):
        if thread is None or lines.thread == thread:
            lines.flush()


# Registered after logging's own exit hook, so it runs before logging.shutdown flushes.
atexit.register(write_held_lines)


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
