"""Celery tasks of the sender. Each takes an id and calls a service that claims
the row and checks its status, so a duplicate or retried task is harmless.
``acks_late`` + ``reject_on_worker_lost`` come from the settings."""

from __future__ import annotations

from celery import shared_task

from outbound import services


@shared_task(name="outbound.tasks.delivery_send")
def delivery_send(delivery_id: int, kind: str = "") -> str | None:
    # ``kind`` only narrows what is loaded; the row decides everything else.
    return services.delivery_attempt(delivery_id=delivery_id, kind=kind)


@shared_task(name="outbound.tasks.deliveries_sweep")
def deliveries_sweep() -> dict[str, int]:
    result = services.deliveries_sweep()
    return {"events": result.events, "deliveries": result.deliveries, "rescued": result.rescued}
