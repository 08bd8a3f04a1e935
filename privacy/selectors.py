"""Everything held about one customer, as one JSON document (the export)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from alerts.events import session_customer, session_subscription
from alerts.models import Alert
from alerts.selectors import session_alerts, session_outbox_events
from outbound.models import Delivery, OutboxEvent
from surveys.models import CancelSession
from surveys.selectors import customer_sessions
from workspaces.models import Workspace

EXPORT_FORMAT = 1
CUSTOMER_ID_MAX = CancelSession._meta.get_field("customer_id").max_length or 200


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def customer_id_plausible(customer_id: str) -> bool:
    """Whether any session could hold this id: sessions keep at most 200
    characters, and never a NUL (which PostgreSQL cannot even compare)."""
    return 0 < len(customer_id) <= CUSTOMER_ID_MAX and "\x00" not in customer_id


def customer_export(
    *, workspace: Workspace, customer_id: str, now: datetime | None = None
) -> dict[str, Any] | None:
    """Every session of the customer in the workspace with its answer (and their
    words), the offer shown or accepted and its terms, the alerts with their inbox
    notes and changes, the outcome events as sent and each delivery with every
    attempt. None when nothing is held under this id (an erased customer's rows
    hold only the pseudonym)."""
    if not customer_id_plausible(customer_id):
        return None
    sessions = list(customer_sessions(workspace=workspace, customer_id=customer_id))
    if not sessions:
        return None
    ids = [session.pk for session in sessions]
    alerts: dict[Any, list[Alert]] = {}
    for alert in session_alerts(session_ids=ids):
        alerts.setdefault(alert.session_id, []).append(alert)
    events: dict[Any, list[OutboxEvent]] = {}
    for event in session_outbox_events(session_ids=ids):
        events.setdefault(event.subject_id, []).append(event)
    return {
        "format": EXPORT_FORMAT,
        "workspace": workspace.slug,
        "customer_id": customer_id,
        "exported_at": _iso(now or timezone.now()),
        "sessions": [_session(s, alerts.get(s.pk, []), events.get(s.pk, [])) for s in sessions],
    }


def _session(
    session: CancelSession, alerts: list[Alert], events: list[OutboxEvent]
) -> dict[str, Any]:
    response = getattr(session, "response", None)
    offer = session.offer
    return {
        "id": str(session.pk),
        "status": session.status,
        "outcome": session.outcome,
        "kept": session.kept,
        "source": session.source,
        "customer": session_customer(session),
        "subscription": session_subscription(session),
        "locale": session.locale,
        "return_url": session.return_url,
        "metadata": session.metadata,
        "created_at": _iso(session.created_at),
        "answered_at": _iso(session.answered_at),
        "offered_at": _iso(session.offered_at),
        "completed_at": _iso(session.completed_at),
        "answer": None
        if response is None
        else {
            "reason": response.reason_code,
            "reason_label": response.reason_label,
            "text": response.text,
            "locale": response.locale,
            "category": response.category_id,
            "category_source": response.category_source,
            "created_at": _iso(response.created_at),
        },
        "offer": None
        if offer is None
        else {
            "id": offer.pk,
            "name": offer.name,
            "kind": offer.kind,
            "terms": offer.terms,
            "shown_at": _iso(session.offered_at),
            "accepted": session.outcome == "saved" and not session.kept,
            "accepted_terms": session.accepted_terms or None,
        },
        "experiment_variant": session.experiment_variant.name
        if session.experiment_variant is not None
        else None,
        "alerts": [_alert(alert) for alert in alerts],
        "events": [_event(event) for event in events],
    }


def _alert(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.pk,
        "team": alert.team.name,
        "status": alert.status,
        "risk_score": alert.risk_score,
        "assignee": alert.assignee.get_username() if alert.assignee else None,
        "notes": alert.notes,
        "created_at": _iso(alert.created_at),
        "changes": [
            {
                "from_status": change.from_status,
                "to_status": change.to_status,
                "note": change.note,
                "by": change.user.get_username() if change.user else None,
                "created_at": _iso(change.created_at),
            }
            for change in alert.changes.all()
        ],
    }


def _event(event: OutboxEvent) -> dict[str, Any]:
    return {
        "id": event.event_id,
        "type": event.event_type,
        "created_at": _iso(event.created_at),
        "payload": event.payload,
        "deliveries": [_delivery(delivery) for delivery in event.deliveries.all()],
    }


def _delivery(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.pk,
        "kind": delivery.kind,
        # alerts' link to it (``DeliveryRoute``), loaded with it; a customer's
        # confirmation or billing has none.
        "alert": getattr(getattr(delivery, "route", None), "alert_id", None),
        "status": delivery.status,
        "attempts": [
            {
                "number": attempt.number,
                "started_at": _iso(attempt.started_at),
                "ok": attempt.ok,
                "status_code": attempt.status_code,
                "error": attempt.error,
            }
            for attempt in delivery.attempt_log.all()
        ],
        "last_error": delivery.last_error,
        "created_at": _iso(delivery.created_at),
        "sent_at": _iso(delivery.sent_at),
    }
