"""Structured JSON log lines. Callers log identifiers and codes only, never PII values."""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import UTC, datetime

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = record.exc_info[0].__name__ if record.exc_info[0] else None
        return json.dumps(entry, default=str)


# Paths that carry a one-time secret (invitation, e-mail confirmation, reset and set-password
# links): a log that records a request's path records them with the secret cut out (R2, R58).
# A test checks that every route with a `token` argument is covered.
SECRET_PATHS = re.compile(
    r"(/(?:staff/)?(?:invitation/confirm-email|invitation|reset-password|set-password))/"
    r"(?!(?:confirm-email|date-of-birth|email|password|privacy|verify)(?:[/?#\s\"]|$))"
    r"[^/?#\s\"]+"
)


def redact(text: str) -> str:
    """`text` (a path, a request line, a referrer, a message) with path secrets replaced."""
    return SECRET_PATHS.sub(r"\1/[redacted]", text) if "/" in text else text


try:  # the production WSGI server's logger, when gunicorn is installed (it is a dependency)
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # pragma: no cover - gunicorn is a dependency
    _GunicornLogger = None


class RedactingFilter(logging.Filter):
    """Cuts `SECRET_PATHS` out of a record's message and its string arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


_REDACTING = RedactingFilter()


if _GunicornLogger is not None:

    class GunicornLogger(_GunicornLogger):
        """gunicorn's access and error logs without the secrets of `SECRET_PATHS`: its access
        line holds the request line, path, query and referrer, and an error handling a request
        names its URI (`logger_class` in gunicorn.conf.py)."""

        def __init__(self, cfg):
            super().__init__(cfg)
            self.error_log.addFilter(_REDACTING)  # one filter, however many loggers are made

        def atoms(self, resp, req, environ, request_time):
            atoms = super().atoms(resp, req, environ, request_time)
            for key in ("r", "U", "q", "f"):
                if isinstance(atoms.get(key), str):
                    atoms[key] = redact(atoms[key])
            # The worker's CPU milliseconds for this request (gunicorn.conf.py's pre_request
            # notes the start): what a page costs, apart from waiting for the database.
            started = getattr(req, "cpu_started", None)
            if started is not None:
                atoms["C"] = str(round((time.thread_time() - started) * 1000))
            return atoms
