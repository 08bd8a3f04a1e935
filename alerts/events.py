"""The outcome event payload the host receives (and that alerts are built from).

Frozen at the moment of the outcome, from the session already loaded by the
flow: building it costs no query.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from surveys.models import CancelSession, Outcome


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def offer_terms(session: CancelSession) -> dict[str, Any] | None:
    """The offer shown, its machine-readable terms, and whether it was taken;
    None when none was shown or the customer kept their subscription without it.

    When it was taken, ``terms`` are the terms as accepted: the offer's own
    (``{"percent": 30, "months": 3}``) plus what the customer chose and the dates
    that follow (a pause's ``months`` and ``resumes_on``, a discount's
    ``ends_on``…), so the host's billing applies exactly that.
    """
    offer = session.offer
    if offer is None or session.kept:
        # Kept without an offer: outcome ``saved`` with ``offer`` null, so a host
        # applying the terms of every saved session applies nothing.
        return None
    accepted = session.outcome == Outcome.SAVED
    terms = dict(offer.terms or {})
    if accepted and session.accepted_terms:
        terms = {k: v for k, v in session.accepted_terms.items() if k != "kind"}
    return {
        "id": offer.pk,
        "kind": offer.kind,
        "name": offer.name,
        "terms": terms,
        "accepted": accepted,
    }


def session_customer(session: CancelSession) -> dict[str, Any]:
    """The customer as the host sent it (webhook payloads, a customer's export)."""
    return {
        "id": session.customer_id,
        "email": session.customer_email,
        "name": session.customer_name,
    }


def session_subscription(session: CancelSession) -> dict[str, Any]:
    """The subscription as the host sent it (webhook payloads, a customer's export)."""
    return {
        "id": session.subscription_id,
        "plan": session.plan,
        "mrr_cents": session.mrr_cents,
        "currency": session.currency,
        "started_at": _iso(session.subscription_started_at),
        "current_period_end": _iso(session.current_period_end),
    }


def session_event_payload(session: CancelSession, *, event_type: str) -> dict[str, Any]:
    response = getattr(session, "response", None)
    answer = None
    if response is not None:
        answer = {
            "reason": response.reason_code,
            "reason_label": response.reason_label,
            "category": response.category_id,
            "category_source": response.category_source,
            "text": response.text,
        }
    return {
        "type": event_type,
        "timestamp": _iso(timezone.now()),
        "data": {
            "id": str(session.pk),
            "status": session.status,
            "outcome": session.outcome,
            "source": session.source,
            "locale": session.locale,
            "customer": session_customer(session),
            "subscription": session_subscription(session),
            "answer": answer,
            "offer": offer_terms(session),
            "metadata": session.metadata,
            "created_at": _iso(session.created_at),
            "completed_at": _iso(session.completed_at),
        },
    }
