"""Alerts' Celery task: expanding an outcome event (registered with
``outbound.registry`` as the expander of outcome events, so the sweeper
re-queues one never expanded). It locks the event and checks ``dispatched_at``,
so a duplicate or retried task is harmless. Sending is ``outbound.tasks``'."""

from __future__ import annotations

from celery import shared_task

from alerts import services


@shared_task(name="alerts.tasks.outbox_dispatch")
def outbox_dispatch(event_id: int) -> int:
    return len(services.outbox_dispatch(event_id=event_id))
