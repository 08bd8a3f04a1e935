"""The weekly digest's email, sent as it was written when its week was claimed
(registered with ``outbound.transports`` by ``AnalyticsConfig.ready``).

``analytics.digest.digest_send`` freezes the whole email in the event's
payload: each language's subject, text and HTML under ``messages``, and each
recipient's language and addresses under ``recipients`` (keyed by the
delivery's ``key``). Sending reads nothing else, so a retry sends exactly what
was written, and the sender threads never touch the database.
"""

from __future__ import annotations

from typing import Any

from django.core.mail import EmailMultiAlternatives

from outbound.models import Delivery
from outbound.transports.base import Transport, TransportError, register
from outbound.transports.mail import email_address, email_send, header_text

DIGEST_KIND = "digest"


def recipient_entry(delivery: Delivery) -> dict[str, Any] | None:
    """The recipient the delivery is for, as the payload froze it. A digest
    written before deliveries had keys named its recipients by the bare id the
    key ends with."""
    recipients = delivery.event.payload.get("recipients", {})
    found = recipients.get(delivery.key) or recipients.get(delivery.key.rpartition(":")[2])
    return found if isinstance(found, dict) else None


@register
class DigestEmailTransport(Transport):
    kind = DIGEST_KIND
    related = ("event",)

    def send(self, delivery: Delivery) -> int | None:
        entry = recipient_entry(delivery)
        message = delivery.event.payload.get("messages", {}).get((entry or {}).get("locale", ""))
        if not entry or not message:
            raise TransportError("The digest has nothing written for this channel.", permanent=True)
        to = [email_address(address) for address in entry.get("to", [])]
        if not to:
            raise TransportError("The digest channel has no address.", permanent=True)
        email = EmailMultiAlternatives(
            subject=header_text(message["subject"]), body=message["text"], to=to
        )
        email.attach_alternative(message["html"], "text/html")
        email_send(email)
        return None

    def target(self, delivery: Delivery) -> str:
        entry = recipient_entry(delivery)
        return ", ".join(entry.get("to", [])) if entry else ""
