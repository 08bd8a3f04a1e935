"""What alerts does when a session changes (``config.events``), in the flow's
transaction. Registered in ``AlertsConfig.ready``: for every session event,
order 30, write the outbox row when the session just got an outcome; later
subscribers (offers' confirmation and billing) find it in
``event.records["outbox"]``."""

from __future__ import annotations

from typing import Any

from alerts.services import session_change_record
from config.events import DomainEvent, subscribe
from outbound.models import OutboxEvent
from surveys.models import CancelSession
from surveys.services import SESSION_EVENTS

OUTBOX_ORDER = 30


def outbox_record(event: DomainEvent) -> None:
    event.records["outbox"] = session_change_record(
        session=event.session, before=event.before, now=event.at
    )


def register() -> None:
    for name in SESSION_EVENTS:
        subscribe(name, outbox_record, order=OUTBOX_ORDER)


def session_events_delete(sender: Any, instance: CancelSession, **kwargs: Any) -> None:
    """A session deleted (its workspace's deletion, the admin) takes its outcome
    events, their alerts and deliveries: the event names its session only by id."""
    OutboxEvent.objects.filter(subject_id=instance.pk).delete()
