"""Email alerts, as text and HTML, through Django's configured email backend."""

from __future__ import annotations

import smtplib

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from alerts.content import alert_context
from alerts.models import Delivery
from alerts.transports.base import ALERT_RELATED, Transport, TransportError, register


def recipients(target: str) -> list[str]:
    return [address.strip() for address in target.split(",") if address.strip()]


@register
class EmailTransport(Transport):
    kind = "email"
    related = ALERT_RELATED

    def send(self, delivery: Delivery) -> int | None:
        if delivery.channel is None or delivery.alert is None:
            raise TransportError("An email alert needs a channel and an alert.", permanent=True)
        context = alert_context(delivery.alert)
        message = EmailMultiAlternatives(
            subject=f"[{context['risk_score']}] {context['title']}"[:200],
            body=render_to_string("alerts/email/alert.txt", context),
            to=recipients(delivery.channel.target),
        )
        message.attach_alternative(
            render_to_string("alerts/email/alert.html", context), "text/html"
        )
        try:
            message.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            raise TransportError(
                f"Recipients refused: {exc.recipients}"[:480], permanent=True
            ) from None
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            raise TransportError(f"SMTP: {type(exc).__name__}: {exc}"[:480]) from None
        return None
