"""Erasing what the outbound side holds about a customer's sessions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from alerts.models import Alert, AlertChange
from outbound.models import Delivery, DeliveryAttempt, DeliveryStatus, OutboxEvent
from surveys.models import CancelSession

# What an erased delivery error or attempt error reads: a receiver's answer may echo
# the message it was sent.
ERASED_ERROR = "(erased with the customer's personal data)"
CANCELLED_FOR_ERASURE = "Cancelled: the customer's personal data was erased."


@dataclass(frozen=True)
class MessagesErased:
    outbox_events: int
    alerts: int
    inbox_notes: int
    deliveries: int
    delivery_attempts: int
    deliveries_cancelled: int


def session_messages_erase(
    *, session_ids: list[Any], cancel_kinds: tuple[str, ...] = ()
) -> MessagesErased:
    """Erase what the outbound side holds about these sessions, once the flow has
    erased the sessions themselves (``surveys.services.sessions_personal_data_erase``):

    - outcome events: the customer, the answer's words and the metadata in their
      frozen payload are rewritten from the erased session, so a delivery still
      pending goes out (to the host, to a team) in the erased form;
    - alerts keep their team, status and risk score; inbox notes are emptied;
    - delivery and attempt errors are emptied (a receiver's answer may echo the
      message); status codes and times stay;
    - deliveries of ``cancel_kinds`` not sent yet (an email to the customer, whose
      address is gone) are cancelled: dead, with the reason.
    """
    with transaction.atomic():
        events = list(
            OutboxEvent.objects.select_for_update()
            .filter(subject_id__in=session_ids)
            .order_by("pk")
        )
        sessions = CancelSession.objects.select_related("response").in_bulk(
            {event.subject_id for event in events}
        )
        for event in events:
            session = sessions.get(event.subject_id)
            if session is not None:  # found by its session: always
                event.payload = _erased_payload(event.payload, session)
        OutboxEvent.objects.bulk_update(events, ["payload"], batch_size=500)
        alerts = Alert.objects.filter(session_id__in=session_ids)
        alert_count = alerts.count()
        notes = alerts.exclude(notes="").update(notes="")
        notes += (
            AlertChange.objects.filter(alert__session_id__in=session_ids)
            .exclude(note="")
            .update(note="")
        )
        deliveries = Delivery.objects.filter(event__subject_id__in=session_ids)
        delivery_count = deliveries.count()
        cancelled = deliveries.filter(
            kind__in=cancel_kinds, status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRY]
        ).update(
            status=DeliveryStatus.DEAD,
            last_error=CANCELLED_FOR_ERASURE,
            updated_at=timezone.now(),
        )
        deliveries.exclude(last_error="").exclude(last_error=CANCELLED_FOR_ERASURE).update(
            last_error=ERASED_ERROR
        )
        attempts = DeliveryAttempt.objects.filter(delivery__event__subject_id__in=session_ids)
        attempt_count = attempts.count()
        attempts.exclude(error="").update(error=ERASED_ERROR)
    return MessagesErased(
        outbox_events=len(events),
        alerts=alert_count,
        inbox_notes=notes,
        deliveries=delivery_count,
        delivery_attempts=attempt_count,
        deliveries_cancelled=cancelled,
    )


def _erased_payload(payload: dict[str, Any], session: CancelSession) -> dict[str, Any]:
    """``payload`` with what identifies the customer taken from the erased session."""
    data = dict(payload.get("data") or {})
    data["customer"] = {
        "id": session.customer_id,
        "email": session.customer_email,
        "name": session.customer_name,
    }
    if isinstance(data.get("answer"), dict):
        response = getattr(session, "response", None)
        data["answer"] = {**data["answer"], "text": response.text if response else ""}
    data["metadata"] = session.metadata
    return {**payload, "data": data}
