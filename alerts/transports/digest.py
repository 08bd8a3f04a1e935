"""The weekly digest's email, sent as it was written when its week was claimed.

``alerts.services.digest_deliveries_create`` freezes the whole email in the
event's payload: each language's subject, text and HTML under ``messages``, and
each channel's language and addresses under ``recipients`` (keyed by the channel
id). Sending reads nothing else, so a retry sends exactly what was written, and
the sender threads never touch the database.
"""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives

from alerts.models import Delivery
from alerts.transports.base import Transport, TransportError, register
from alerts.transports.mail import email_address, email_send, header_text

DIGEST_KIND = "digest"


@register
class DigestEmailTransport(Transport):
    kind = DIGEST_KIND
    related = ("event",)

    def send(self, delivery: Delivery) -> int | None:
        payload = delivery.event.payload
        entry = payload.get("recipients", {}).get(str(delivery.channel_id))
        message = payload.get("messages", {}).get((entry or {}).get("locale", ""))
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
