"""Email alerts, as text and HTML, through Django's configured email backend."""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from alerts.content import alert_context
from alerts.models import Delivery
from alerts.transports.base import ALERT_RELATED, Transport, TransportError, register
from alerts.transports.mail import email_address, email_send, header_text


def recipients(target: str) -> list[str]:
    return [address.strip() for address in target.split(",") if address.strip()]


@register
class EmailTransport(Transport):
    kind = "email"
    related = ALERT_RELATED

    def send(self, delivery: Delivery) -> int | None:
        if delivery.channel is None or delivery.alert is None:
            raise TransportError("An email alert needs a channel and an alert.", permanent=True)
        to = [email_address(address) for address in recipients(delivery.channel.target)]
        if not to:
            raise TransportError("The email channel has no address.", permanent=True)
        context = alert_context(delivery.alert)
        message = EmailMultiAlternatives(
            # The title carries the customer's name: one line, whatever they typed.
            subject=header_text(f"[{context['risk_score']}] {context['title']}"),
            body=render_to_string("alerts/email/alert.txt", context),
            to=to,
        )
        message.attach_alternative(
            render_to_string("alerts/email/alert.html", context), "text/html"
        )
        email_send(message)
        return None
