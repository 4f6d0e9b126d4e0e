"""Structured JSON logs on stderr, one object a line, carrying the call's request id."""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
import sys

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(service: str, level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


class RepeatedFailures:
    """The log of a background step that fails at every poll while its cause lasts (a
    database that is down, say): the first failure is logged with its traceback, the
    following ones in one line at the 2nd, 4th, 8th... in a row, and the first success
    after them once, so a long outage neither floods the log nor goes unnoticed."""

    def __init__(self, log: logging.Logger, message: str):
        self.log = log
        self.message = message
        self.in_a_row = 0

    def failed(self, **extra) -> None:
        """Call from an ``except`` block."""
        self.in_a_row += 1
        if self.in_a_row == 1:
            self.log.exception(self.message, extra=extra)
        elif self.in_a_row & (self.in_a_row - 1) == 0:
            error = sys.exc_info()[1]
            self.log.error(
                f"{self.message} again", extra={**extra, "in_a_row": self.in_a_row, "error": repr(error)}
            )

    def succeeded(self, **extra) -> None:
        if self.in_a_row:
            self.log.info(f"{self.message} before; works again", extra={**extra, "failures": self.in_a_row})
        self.in_a_row = 0
