"""Email headers from what customers and hosts typed, and sending with failures
sorted: what every sender of email uses (alert emails, customer confirmations,
the weekly digest).

A header value never carries a line break: ``header_text`` turns CR, LF and
every other control character into a space, so a name like
``"Evil\\nBcc: x@example.com"`` stays one line of text in the subject instead of
failing the send (Django refuses it with ``BadHeaderError``). An address is
checked before sending; ``email_send`` makes a failure that would recur
identically (a bad header, an invalid address, every recipient refused)
permanent, and only the rest (the server unreachable, a timeout) is retried.
"""

from __future__ import annotations

import re
import smtplib

from django.core.exceptions import ValidationError
from django.core.mail import BadHeaderError, EmailMessage
from django.core.validators import validate_email

from outbound.transports.base import TransportError

# C0 and C1 control characters (CR, LF, TAB, NUL, NEL, …) and the Unicode line
# and paragraph separators.
_BREAKING = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
SUBJECT_LENGTH = 200


def header_text(value: object, limit: int = SUBJECT_LENGTH) -> str:
    """``value`` fit for an email header: control characters become spaces, runs
    of white space one space, trimmed, at most ``limit`` characters."""
    return " ".join(_BREAKING.sub(" ", str(value)).split())[:limit]


def email_address(value: str) -> str:
    """A recipient's address, checked: ``TransportError(permanent=True)`` when it
    is not one (sending again would fail the same way)."""
    address = value.strip()
    try:
        if _BREAKING.search(address):
            raise ValidationError("control character")
        validate_email(address)
    except ValidationError:
        raise TransportError(
            f"Invalid email address {header_text(address, 100)!r}: not sent.", permanent=True
        ) from None
    return address


def email_send(message: EmailMessage) -> None:
    """Send ``message`` through Django's configured backend; raise ``TransportError``
    (permanent when trying again cannot help)."""
    try:
        message.send(fail_silently=False)
    except BadHeaderError as exc:
        raise TransportError(f"Bad email header: {exc}"[:480], permanent=True) from None
    except smtplib.SMTPRecipientsRefused as exc:
        # Raised only when every recipient was refused.
        raise TransportError(
            f"Recipients refused: {exc.recipients}"[:480], permanent=True
        ) from None
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise TransportError(f"SMTP: {type(exc).__name__}: {exc}"[:480]) from None
    except ValueError as exc:
        # Django's address parsing ("Invalid address …") and encoding: the same
        # message fails the same way next time.
        raise TransportError(f"Cannot send: {exc}"[:480], permanent=True) from None
