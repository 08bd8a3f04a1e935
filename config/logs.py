"""Log lines: JSON (or text) with the request id, and no secrets or personal data.

Session tokens stay out of the logs.

A cancel session's token is its customer's key to the hosted pages
(``/c/{token}/``) and the flow API (``/api/v1/flow/{token}``). Whoever reads
the access log must not be able to open or finish someone's session, so every
log line is written with the token replaced by ``[redacted]``: Django's own
loggers (``django.server``, ``django.request``, everything through the console
handler) via ``RedactTokensFilter``, gunicorn's access log via
``config.access_log.RedactingLogger`` (see Procfile). The Referer is redacted
too: a hosted page's own requests (its CSS, its form posts) carry its URL.

Other secrets and personal data are masked in every line as well, whatever
logged them: API keys (``cfk_…``), webhook and identity secrets (``whsec_…``,
``wis_…``), Stripe keys, ``Bearer …`` credentials and email addresses. Free
text (what customers write) is never passed to a logger by the code; the request
log (``config.requestlog``) writes the route and path, never a query string or
a body.

Each line carries the request id of the request (or of the task a request
queued) it was written for (``request_id``, from ``REQUEST_ID``). ``LOG_FORMAT``
picks the shape: ``json`` (the default: one JSON object a line) or ``text``
(readable lines for local work).
"""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter

REDACTED = "[redacted]"
_FORMATTER = logging.Formatter()
_TOKEN_IN_PATH = re.compile(r"(/c/|/api/v1/flow/)[^/\s?#\"']+")
# Credentials by their shape: API keys, webhook and identity secrets, Stripe keys,
# and whatever follows "Bearer ".
_SECRET = re.compile(r"\b(?:cfk|whsec|wis|sk|rk|pk)_[A-Za-z0-9_\-]{6,}|(?i:bearer)\s+[^\s\"',;]+")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")

# The request id of the request being served or of the task being run ("-": none).
REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")


def redact_tokens(text: str) -> str:
    return _TOKEN_IN_PATH.sub(rf"\g<1>{REDACTED}", text)


def redact(text: str) -> str:
    """Session tokens, credentials and email addresses replaced by ``[redacted]``."""
    text = _TOKEN_IN_PATH.sub(rf"\g<1>{REDACTED}", text)
    text = _SECRET.sub(REDACTED, text)
    return _EMAIL.sub(REDACTED, text)


# What every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id"}


class RedactTokensFilter(logging.Filter):
    """Rewrites each record's message (and its ``extra`` strings) with the secrets
    redacted, and stamps it with the request id (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            # Formatters use the cached text when set: a traceback's lines redacted too.
            record.exc_text = redact(_FORMATTER.formatException(record.exc_info))
        for key, value in list(record.__dict__.items()):
            if key in _STANDARD or value is None or isinstance(value, bool | int | float):
                continue
            # Anything else is written as text (Django passes the request object).
            setattr(record, key, redact(value if isinstance(value, str) else str(value)))
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


class JsonLineFormatter(JsonFormatter):
    """One JSON object a line: time, level, logger, message, request id, and the
    record's ``extra`` fields."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("timestamp", "time")
        kwargs.setdefault(
            "rename_fields", {"levelname": "level", "name": "logger", "exc_info": "error"}
        )
        super().__init__("%(levelname)s %(name)s %(message)s %(request_id)s", *args, **kwargs)

    def formatException(self, ei: Any) -> str:
        text = super().formatException(ei)
        return redact(text if isinstance(text, str) else "\n".join(text))


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def formatter_config(log_format: str) -> dict[str, Any]:
    """The ``formatters`` entry of settings.LOGGING for ``LOG_FORMAT``."""
    if log_format == "text":
        return {"format": TEXT_FORMAT}
    return {"()": "config.logs.JsonLineFormatter"}


def formatter(log_format: str) -> logging.Formatter:
    """The same, as an object (gunicorn's own loggers, config.access_log)."""
    if log_format == "text":
        return logging.Formatter(TEXT_FORMAT)
    return JsonLineFormatter()
