"""Email alerts, as text and HTML, through Django's configured email backend."""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from alerts.content import alert_context
from alerts.transports import AlertsTransport, alert_and_channel
from outbound.models import Delivery
from outbound.transports.base import TransportError, register
from outbound.transports.mail import email_address, email_send, header_text


def recipients(target: str) -> list[str]:
    return [address.strip() for address in target.split(",") if address.strip()]


@register
class EmailTransport(AlertsTransport):
    kind = "email"

    def send(self, delivery: Delivery) -> int | None:
        alert, channel = alert_and_channel(delivery)
        if channel is None or alert is None:
            raise TransportError("An email alert needs a channel and an alert.", permanent=True)
        to = [email_address(address) for address in recipients(channel.target)]
        if not to:
            raise TransportError("The email channel has no address.", permanent=True)
        context = alert_context(alert)
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
