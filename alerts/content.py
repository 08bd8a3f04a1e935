"""What an alert says, in the team's language: one context for email, Slack and
the generic webhook, so every channel tells the same story."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from alerts.models import Alert
from offers.presentation import accepted_text, format_money
from surveys.taxonomy import category_label


def alert_url(alert: Alert) -> str:
    path = reverse("alerts-inbox-detail", args=[alert.workspace.slug, alert.pk])
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def alert_context(alert: Alert) -> dict[str, Any]:
    """Everything a channel shows. Expects ``alert`` with session, response,
    offer, team and workspace loaded (``alerts.transports.ALERT_RELATED``)."""
    session = alert.session
    response = getattr(session, "response", None)
    data = alert.event.payload["data"]
    offer = data.get("offer")
    with translation.override(alert.team.locale):
        outcome = {
            "saved": _("Kept the subscription without an offer")
            if session.kept
            else _("Saved by the offer"),
            "cancelled": _("Cancelled"),
            "abandoned": _("Left the cancel flow unfinished"),
        }.get(session.outcome, session.outcome)
        if offer is None and session.kept and session.offer is not None:
            # Kept without it: the payload names no offer, the session the one shown.
            offer_line = _("Shown, declined: %(name)s") % {"name": session.offer.name}
        elif offer is None:
            offer_line = _("No offer shown")
        elif offer["accepted"]:
            offer_line = _("Accepted: %(name)s") % {"name": offer["name"]}
            applied = accepted_text(
                {**(offer.get("terms") or {}), "kind": offer["kind"]},
                locale=alert.team.locale,
                currency=session.currency,
            )
            if applied:
                offer_line = f"{offer_line} ({applied})"
        else:
            offer_line = _("Shown, declined: %(name)s") % {"name": offer["name"]}
        customer = session.customer_name or session.customer_email or session.customer_id
        context = {
            "title": _("%(customer)s: %(outcome)s") % {"customer": customer, "outcome": outcome},
            "customer": customer,
            "customer_id": session.customer_id,
            "customer_email": session.customer_email,
            "plan": session.plan or "—",
            "mrr": format_money(session.mrr_cents, session.currency),
            "outcome": outcome,
            "reason": response.reason_label if response is not None else _("No answer"),
            "category": str(category_label(response.category_id)) if response is not None else "—",
            "text": response.text if response is not None else "",
            "offer": offer_line,
            "risk_score": alert.risk_score,
            "team": alert.team.name,
            "url": alert_url(alert),
            "labels": {
                "customer": _("Customer"),
                "plan": _("Plan"),
                "mrr": _("MRR"),
                "reason": _("Reason"),
                "category": _("Category"),
                "words": _("In their words"),
                "offer": _("Offer"),
                "risk": _("Risk score"),
                "open": _("Open in the inbox"),
            },
        }
    return context


def alert_json(alert: Alert) -> dict[str, Any]:
    """The generic webhook channel's body: the alert plus the outcome event."""
    return {
        "type": "alert.created",
        "alert": {
            "id": alert.pk,
            "team": alert.team.name,
            "risk_score": alert.risk_score,
            "url": alert_url(alert),
        },
        "event": alert.event.payload,
    }
