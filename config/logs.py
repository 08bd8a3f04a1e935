"""Session tokens stay out of the logs.

A cancel session's token is its customer's key to the hosted pages
(``/c/{token}/``) and the flow API (``/api/v1/flow/{token}``). Whoever reads
the access log must not be able to open or finish someone's session, so every
log line is written with the token replaced by ``[redacted]``: Django's own
loggers (``django.server``, ``django.request``, everything through the console
handler) via ``RedactTokensFilter``, gunicorn's access log via
``config.access_log.RedactingLogger`` (see Procfile). The Referer is redacted
too: a hosted page's own requests (its CSS, its form posts) carry its URL.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"
_FORMATTER = logging.Formatter()
_TOKEN_IN_PATH = re.compile(r"(/c/|/api/v1/flow/)[^/\s?#\"']+")


def redact_tokens(text: str) -> str:
    return _TOKEN_IN_PATH.sub(rf"\g<1>{REDACTED}", text)


class RedactTokensFilter(logging.Filter):
    """Rewrites each record's message with the tokens redacted (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_tokens(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            # Formatters use the cached text when set: a traceback's lines redacted too.
            record.exc_text = redact_tokens(_FORMATTER.formatException(record.exc_info))
        return True
