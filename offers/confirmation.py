"""The outcome confirmation emailed to the customer, as a delivery transport.

``offers.services.outcome_confirmation_queue`` writes the delivery with the
outcome; the outbound delivery machinery sends it from a worker, retries it with
backoff and records every try. Everything the email says comes from the outcome
event's frozen payload (and the workspace's name).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from offers.presentation import accepted_text
from offers.services import CONFIRMATION_KIND
from outbound.models import Delivery
from outbound.transports.base import Transport, TransportError, register
from outbound.transports.mail import email_address, email_send, header_text
from surveys.formatting import customer_date
from workspaces.brand import Brand, workspace_brand


def _date(value: str | None) -> str:
    """An ISO date or moment from the payload, as a day in the active language."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return ""
    return customer_date(moment)


def confirmation_context(
    payload: dict[str, Any], *, workspace_name: str, compliance: bool, brand: Brand | None = None
) -> dict:
    data = payload.get("data", {})
    offer = data.get("offer") or {}
    subscription = data.get("subscription") or {}
    saved = data.get("outcome") == "saved"
    return {
        "workspace_name": brand.name if brand else workspace_name,
        "logo_url": brand.logo_url if brand else "",
        "support_email": brand.support_email if brand else "",
        "customer_name": (data.get("customer") or {}).get("name", ""),
        "saved": saved,
        "compliance": compliance,
        "offer_name": offer.get("name", "") if saved else "",
        "accepted": accepted_text(
            {**(offer.get("terms") or {}), "kind": offer.get("kind", "")},
            locale=translation.get_language() or "en",
            currency=subscription.get("currency", ""),
        )
        if saved
        else "",
        "plan": subscription.get("plan", ""),
        "ends_on": _date(subscription.get("current_period_end")),
        "completed_on": _date(data.get("completed_at")),
    }


@register
class CustomerConfirmationTransport(Transport):
    kind = CONFIRMATION_KIND

    def send(self, delivery: Delivery) -> int | None:
        payload = delivery.event.payload
        data = payload.get("data", {})
        to = (data.get("customer") or {}).get("email", "")
        if not to:
            raise TransportError("The customer has no email address.", permanent=True)
        to = email_address(to)
        workspace = delivery.workspace
        locale = data.get("locale") or workspace.default_locale or "en"
        brand = workspace_brand(workspace)
        with translation.override(locale):
            context = confirmation_context(
                payload,
                workspace_name=workspace.name,
                compliance=workspace.compliance_mode,
                brand=brand,
            )
            subject = (
                _("You're staying with us")
                if context["saved"]
                else _("Your cancellation is confirmed")
            )
            message = EmailMultiAlternatives(
                subject=header_text(f"{subject} · {brand.name}"),
                body=render_to_string("offers/email/confirmation.txt", context),
                to=[to],
            )
            message.attach_alternative(
                render_to_string("offers/email/confirmation.html", context), "text/html"
            )
        email_send(message)
        return None
