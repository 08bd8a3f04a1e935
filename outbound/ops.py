"""What operators watch of the outbound side: the outbox and the deliveries.

``outbound_figures`` is the one place /readyz (``outbox``, ``dead_deliveries``)
and /metrics (``cancelflow_outbox_*``, ``cancelflow_deliveries``) read these
figures from; ``register`` (``OutboundConfig.ready``) hands them to
``config.health`` and ``config.metrics``. Three queries, each on an index: the
undispatched events (partial index ``outbox_undispatched``), the deliveries
that died in the last hour and the deliveries by status and kind (``delivery_due``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone

from config.health import Result, register_check
from config.metrics import Gauge, register_source
from outbound.models import Delivery, DeliveryStatus, OutboxEvent

DEAD_WINDOW = timedelta(hours=1)


@dataclass
class OutboundFigures:
    pending_events: int
    oldest_pending_age: float  # seconds; 0 when none is pending
    dead_last_hour: int
    deliveries: dict[tuple[str, str], int] = field(default_factory=dict)  # (status, kind)


def outbound_figures(*, now: datetime | None = None, by_kind: bool = False) -> OutboundFigures:
    now = now or timezone.now()
    pending = OutboxEvent.objects.filter(dispatched_at__isnull=True).aggregate(
        n=Count("id"), oldest=Min("created_at")
    )
    oldest = pending["oldest"]
    dead = Delivery.objects.filter(
        status=DeliveryStatus.DEAD, updated_at__gte=now - DEAD_WINDOW
    ).count()
    deliveries: dict[tuple[str, str], int] = {}
    if by_kind:
        for row in Delivery.objects.values("status", "kind").annotate(n=Count("id")).order_by():
            deliveries[(row["status"], row["kind"])] = row["n"]
    return OutboundFigures(
        pending_events=pending["n"],
        oldest_pending_age=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
        dead_last_hour=dead,
        deliveries=deliveries,
    )


def check_outbox() -> Result:
    figures = outbound_figures()
    max_age = settings.HEALTH_OUTBOX_MAX_AGE_SECONDS
    max_pending = settings.HEALTH_OUTBOX_MAX_PENDING
    return {
        "ok": figures.oldest_pending_age <= max_age and figures.pending_events <= max_pending,
        "pending": figures.pending_events,
        "oldest_pending_age_seconds": round(figures.oldest_pending_age, 1),
        "max_age_seconds": max_age,
        "max_pending": max_pending,
    }


def check_dead_deliveries() -> Result:
    figures = outbound_figures()
    limit = settings.HEALTH_DEAD_DELIVERIES_MAX
    return {"ok": figures.dead_last_hour <= limit, "last_hour": figures.dead_last_hour,
            "max": limit}  # fmt: skip


def gauges() -> Iterator[Gauge]:
    figures = outbound_figures(by_kind=True)
    yield ("cancelflow_outbox_pending", "Outbox events not yet expanded.", [],
           [([], float(figures.pending_events))])  # fmt: skip
    yield (
        "cancelflow_outbox_oldest_pending_age_seconds",
        "Age of the oldest outbox event not yet expanded (0: none).",
        [],
        [([], figures.oldest_pending_age)],
    )
    yield (
        "cancelflow_deliveries",
        "Deliveries (alerts, webhooks, emails, billing) by status and kind.",
        ["status", "kind"],
        [([status, kind], float(n)) for (status, kind), n in sorted(figures.deliveries.items())],
    )


def register() -> None:
    register_check("outbox", check_outbox)
    register_check("dead_deliveries", check_dead_deliveries)
    register_source("outbound", gauges)
