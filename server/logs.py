"""The server's log: plain text, or one JSON object per line (`PHONGHOP_LOG_FORMAT=json`),
each line carrying the id of the HTTP request or websocket connection it comes from.

A JSON line: `{"time": ISO-8601 in Asia/Ho_Chi_Minh, "level", "logger", "message"}`, plus
`request_id` or `connection_id` when the line was written on behalf of one, the fields an
access line adds (`method`, `path`, `status`, `duration_ms`), and `exception` (the
traceback) when there is one. `PHONGHOP_LOG_LEVEL` sets phonghop's own loggers only:
libraries stay at warning whatever it says, because some log what they carry at debug
level (aiosqlite a statement's parameters, websockets every frame), which would put
password hashes, ballots and tokens in the log. phonghop's own lines never hold a
password, a token, a ballot or a request body (tests/server/test_logs.py).
"""

from __future__ import annotations

import logging
import secrets
import sys
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson

VIETNAM = timezone(timedelta(hours=7))  # Asia/Ho_Chi_Minh: no daylight saving since 1975
FORMATS = ("text", "json")
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR}
# phonghop's own loggers: every module's (`phonghop.server.…`, …) and the `phonghop.*`
# names some modules use. uvicorn's are not: at info it logs each websocket's URL, query
# string included.
OWN = ("phonghop",)
# Fields a line may add with `extra=`: nothing else of a record reaches the JSON.
FIELDS = ("method", "path", "status", "duration_ms", "user_id", "close_code")

REQUEST_ID: ContextVar[str | None] = ContextVar("phonghop_request_id", default=None)
CONNECTION_ID: ContextVar[str | None] = ContextVar("phonghop_connection_id", default=None)


def new_id() -> str:
    """A fresh request or connection id: 16 hexadecimal digits."""
    return secrets.token_hex(8)


class _Ids(logging.Filter):
    """Stamps each record with the ids of the context it was written in."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        record.connection_id = CONNECTION_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines in messages are escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).astimezone(VIETNAM)
            .isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("request_id", "connection_id", *FIELDS):
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """`LEVEL logger [id]: message`, as a terminal or journald shows it."""

    def format(self, record: logging.LogRecord) -> str:
        ident = getattr(record, "request_id", None) or getattr(record, "connection_id", None)
        record.ident = f" [{ident}]" if ident else ""
        return super().format(record)


def check(settings: Any) -> None:
    """ValueError naming a malformed log setting."""
    if settings.log_format not in FORMATS:
        raise ValueError(f"PHONGHOP_LOG_FORMAT: {settings.log_format!r} is not text or json")
    if settings.log_level not in LEVELS:
        raise ValueError(f"PHONGHOP_LOG_LEVEL: {settings.log_level!r} is not one of "
                         + ", ".join(LEVELS))


def configure(settings: Any) -> None:
    """Send every log line to stderr in the chosen format: the root logger at warning (the
    libraries), phonghop's own loggers at `PHONGHOP_LOG_LEVEL`."""
    check(settings)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_Ids())
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else
                         TextFormatter("%(levelname)s %(name)s%(ident)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for name in OWN:
        logging.getLogger(name).setLevel(LEVELS[settings.log_level])
