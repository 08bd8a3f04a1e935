"""Writing and sending deliveries: events and their delivery rows, claiming a
row, sending through its transport, recording each attempt, retries with
backoff, dead letters, the sweeper and a member's retry by hand.

``delivery_attempt`` sends one delivery once per call: it claims the row
(status pending/retry -> in flight), sends outside any transaction, then records
the attempt and moves the row to sent, retry (with backoff and jitter) or dead.
A repeated or duplicated task finds the row no longer due and does nothing.
``deliveries_sweep`` (Celery beat) re-queues events not yet expanded (through
their type's expander, ``outbound.registry``), deliveries pending or due, and
deliveries stuck in flight because their worker died. Long waits are rows with
``next_attempt_at``, never broker countdowns.

The guarantees are in DESIGN.md ("Outbound").
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from config.errors import Conflict, NotFound
from config.nudge import nudge
from config.orm import row_create
from outbound.models import Delivery, DeliveryAttempt, DeliveryStatus, OutboxEvent
from outbound.registry import expanded_types, expander_for
from outbound.transports.base import TransportError, related_for, transport_for
from workspaces.models import Workspace

log = logging.getLogger(__name__)

# Grace before the sweeper re-queues work whose own task should still be coming.
SWEEP_GRACE = timedelta(seconds=5)
ERROR_LENGTH = 500


# Sender threads per worker process. A batch writes at most this many deliveries
# "in flight" (the rest wait as pending rows with a task of their own), so each
# one gets a thread at once and is answered or timed out long before the sweeper
# would take it for a dead worker's (DELIVERY_STALE_AFTER_SECONDS).
SEND_AT_ONCE = 64


def task_queue(task: Any, *args: Any, countdown: float | None = None) -> None:
    """Publish a task; a broker outage must not fail the caller (the row waits
    for the sweeper)."""
    try:
        task.apply_async(args=args, countdown=countdown)
    except Exception as exc:  # kombu raises a variety of connection errors
        log.warning("Could not queue %s%r (%s); the sweeper will pick it up.", task.name, args, exc)


def _publish(task: Any, arg: Any) -> None:
    # One function for every nudge (config.nudge batches by it); ``task_queue``
    # is looked up when called, so a test may replace it.
    task_queue(task, arg)


def _send_task() -> Any:
    from outbound.tasks import delivery_send

    return delivery_send


# --- Writing ---------------------------------------------------------------------


def event_create(
    *,
    workspace_id: int,
    event_type: str,
    payload: dict[str, Any],
    now: datetime,
    subject_id: UUID | None = None,
    follows_outcome: bool = False,
    expanded: bool = False,
    covers: int = 1,
) -> OutboxEvent:
    """Write an event, in the caller's transaction. Unless ``expanded`` (the
    caller writes its deliveries itself, now), the expander registered for
    ``event_type`` is queued on commit, off the request (``config.nudge``: one
    message for every ``covers`` events, as many as one expander task claims);
    if the broker is down the row waits for the sweeper."""
    event = row_create(  # OutboxEvent.objects.create, the statement compiled once
        OutboxEvent,
        workspace_id=workspace_id,
        subject_id=subject_id,
        event_type=event_type,
        payload=payload,
        follows_outcome=follows_outcome,
        created_at=now,
        dispatched_at=now if expanded else None,
    )
    task = None if expanded else expander_for(event_type)
    if task is not None:
        transaction.on_commit(lambda: nudge(task, event.pk, covers=covers, publish=_publish))
    return event


def delivery_new(event: OutboxEvent, *, kind: str, now: datetime, key: str = "") -> Delivery:
    """A new delivery row of ``event``, pending, not saved (``deliveries_write``)."""
    return Delivery(
        workspace_id=event.workspace_id,
        event=event,
        kind=kind,
        key=key,
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )


def deliveries_write(
    deliveries: list[Delivery], *, taken: int = 0, queue: bool = True
) -> list[Delivery]:
    """Insert new deliveries (one INSERT), in the caller's transaction. The first
    ``taken`` are written in flight, already the caller's to send
    (``deliveries_send(..., taken=True)``, once its transaction has committed);
    every other one gets a task queued on commit (unless not ``queue``: the
    caller sends their first tries itself, ``deliveries_send``, and the sweeper
    finds them if it dies first)."""
    for delivery in deliveries[:taken]:
        delivery.status, delivery.attempts = DeliveryStatus.IN_FLIGHT, 1
    Delivery.objects.bulk_create(deliveries)
    if queue and len(deliveries) > taken:
        task = _send_task()
        for delivery in deliveries[taken:]:
            transaction.on_commit(partial(task_queue, task, delivery.pk, delivery.kind))
    return deliveries


def delivery_create(
    *,
    event: OutboxEvent,
    kind: str,
    key: str = "",
    now: datetime | None = None,
    queue: bool = True,
) -> Delivery:
    """A delivery of ``event`` through the transport registered for ``kind``
    (for example billing): it gets the same retries, records and dead letters.
    With a ``key``, a second one of the same event and key is refused by the
    database."""
    now = now or timezone.now()
    delivery = delivery_new(event, kind=kind, now=now, key=key)
    delivery.save(force_insert=True)
    if queue:
        transaction.on_commit(partial(task_queue, _send_task(), delivery.pk, kind))
    return delivery


def event_payload_update(
    *, event_id: int, event_type: str, change: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    """Rewrite an event's frozen payload (locked), for example to drop bodies
    once sent. Nothing when there is no such event of that type."""
    with transaction.atomic():
        event = (
            OutboxEvent.objects.select_for_update()
            .filter(pk=event_id, event_type=event_type)
            .first()
        )
        if event is None:
            return
        event.payload = change(event.payload)
        event.save(update_fields=["payload"])


def event_deliveries(*, event_id: int) -> QuerySet[Delivery]:
    """The deliveries of one event, oldest first."""
    return Delivery.objects.filter(event_id=event_id).order_by("id")


# --- Sending ---------------------------------------------------------------------


def retry_delay(attempts: int) -> float | None:
    """Seconds to wait after ``attempts`` failed tries, with ±10% jitter so a
    receiver coming back is not hit by every retry at once; None when no try is
    left."""
    delays = settings.DELIVERY_RETRY_DELAYS
    if attempts > len(delays):
        return None
    base = delays[attempts - 1]
    return base * random.uniform(0.9, 1.1)


def _claim_row(delivery_id: int, now: datetime) -> bool:
    """Take the delivery if it is due and nobody has it: one conditional UPDATE
    (the row lock it takes makes a concurrent claim see the new status and match
    nothing)."""
    return bool(
        Delivery.objects.filter(
            pk=delivery_id,
            status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRY],
            # Not due yet: an early duplicate; the countdown or the sweeper comes back.
            next_attempt_at__lte=now + timedelta(seconds=1),
        ).update(status=DeliveryStatus.IN_FLIGHT, attempts=F("attempts") + 1, updated_at=now)
    )


def _claim(delivery_id: int, now: datetime, kind: str = "") -> Delivery | None:
    """Claim the delivery, then load what its transport reads (one query; a task
    queued without the kind, from before tasks carried it, asks for it first)."""
    if not _claim_row(delivery_id, now):
        return None
    if not kind:
        kind = Delivery.objects.filter(pk=delivery_id).values_list("kind", flat=True).get()
    return Delivery.objects.select_related(*related_for(kind)).get(pk=delivery_id)


_sender: ThreadPoolExecutor | None = None


def _sender_pool() -> ThreadPoolExecutor:
    # Made on first use, so each worker process (after the fork) has its own.
    global _sender
    if _sender is None:
        _sender = ThreadPoolExecutor(max_workers=SEND_AT_ONCE, thread_name_prefix="deliveries")
    return _sender


def _send(delivery: Delivery) -> tuple[TransportError | None, int | None, int]:
    """Send through the delivery's transport; no database access."""
    started = time.monotonic()
    status_code: int | None = None
    error: TransportError | None = None
    try:
        status_code = transport_for(delivery.kind).send(delivery)
    except TransportError as exc:
        error, status_code = exc, exc.status_code
    except Exception as exc:  # a bug in a transport must not wedge the row in flight
        log.exception("Transport %s crashed on delivery %s", delivery.kind, delivery.pk)
        error = TransportError(f"Internal error: {type(exc).__name__}: {exc}")
    return error, status_code, int((time.monotonic() - started) * 1000)


def deliveries_send(*, deliveries: list[Delivery], taken: bool = False) -> list[str]:
    """First tries of freshly written deliveries (loaded with all they need):
    claim each (unless written ``taken``, in flight for us), send them side by side
    (a slow receiver does not hold up the others), record each result. Call it
    outside any transaction: nothing is sent while a lock is held."""
    now = timezone.now()
    if taken:
        claimed = list(deliveries)
    else:
        claimed = [d for d in deliveries if _claim_row(d.pk, now)]
        for delivery in claimed:
            delivery.status = DeliveryStatus.IN_FLIGHT
            delivery.attempts += 1
    pool = _sender_pool() if len(claimed) > 1 else None
    results = list(pool.map(_send, claimed)) if pool else [_send(d) for d in claimed]
    return _record(
        [
            (delivery, error, code, ms)
            for delivery, (error, code, ms) in zip(claimed, results, strict=True)
        ]
    )


def delivery_attempt(
    *, delivery_id: int, kind: str = "", now: datetime | None = None
) -> str | None:
    """Try one delivery once, if it is due. Returns the new status, or None when
    there was nothing to do (already sent, dead, not due, or being sent)."""
    now = now or timezone.now()
    delivery = _claim(delivery_id, now, kind)
    if delivery is None:
        return None
    error, status_code, duration_ms = _send(delivery)
    return _record([(delivery, error, status_code, duration_ms)])[0]


Result = tuple[Delivery, "TransportError | None", "int | None", int]


def _record(results: list[Result]) -> list[str]:
    """Record each try and move each delivery on: sent, retry (with backoff) or
    dead. One transaction for the lot."""
    finished = timezone.now()
    attempts, sent, others = [], [], []
    for delivery, error, status_code, duration_ms in results:
        message = error.message[:ERROR_LENGTH] if error else ""
        attempts.append(
            DeliveryAttempt(
                delivery=delivery,
                number=delivery.attempts,
                started_at=finished - timedelta(milliseconds=duration_ms),
                duration_ms=duration_ms,
                ok=error is None,
                status_code=status_code,
                error=message,
            )
        )
        delivery.updated_at = finished
        delivery.last_error = message
        if error is None:
            delivery.status, delivery.sent_at = DeliveryStatus.SENT, finished
            sent.append(delivery.pk)
            continue
        delay = None if error.permanent else retry_delay(delivery.attempts)
        if delay is None:
            delivery.status = DeliveryStatus.DEAD
        else:
            delivery.status = DeliveryStatus.RETRY
            delivery.next_attempt_at = finished + timedelta(seconds=delay)
        others.append((delivery, error, delay))
    with transaction.atomic():
        DeliveryAttempt.objects.bulk_create(attempts)
        if sent:
            Delivery.objects.filter(pk__in=sent).update(
                status=DeliveryStatus.SENT, sent_at=finished, last_error="", updated_at=finished
            )
        for delivery, error, delay in others:
            delivery.save(update_fields=["status", "last_error", "next_attempt_at", "updated_at"])
            if delivery.status == DeliveryStatus.DEAD:
                log.warning(
                    "Delivery %s is dead after %s tries: %s",
                    delivery.pk,
                    delivery.attempts,
                    delivery.last_error,
                )
                if error.disable:
                    transport_for(delivery.kind).disable(delivery, reason=delivery.last_error)
            elif delay is not None and delay <= settings.DELIVERY_COUNTDOWN_MAX_SECONDS:
                _queue_retry(delivery, countdown=delay)
    return [delivery.status for delivery, *_ in results]


def _queue_retry(delivery: Delivery, *, countdown: float) -> None:
    pk, kind = delivery.pk, delivery.kind
    task = _send_task()
    transaction.on_commit(lambda: task_queue(task, pk, kind, countdown=countdown))


@dataclass(frozen=True)
class SweepResult:
    events: int
    deliveries: int
    rescued: int


def deliveries_sweep(*, now: datetime | None = None, limit: int = 1000) -> SweepResult:
    """Queue what should be moving and is not: events not yet expanded,
    deliveries pending or due, and deliveries whose worker died mid-send."""
    now = now or timezone.now()
    events = list(
        OutboxEvent.objects.filter(
            dispatched_at__isnull=True,
            created_at__lt=now - SWEEP_GRACE,
            event_type__in=expanded_types(),
        )
        .order_by("created_at")
        .values_list("pk", "event_type")[:limit]
    )
    stale = now - timedelta(seconds=settings.DELIVERY_STALE_AFTER_SECONDS)
    with transaction.atomic():
        rescued = dict(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status=DeliveryStatus.IN_FLIGHT, updated_at__lt=stale)
            .values_list("pk", "kind")[:limit]
        )
        Delivery.objects.filter(pk__in=rescued).update(
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
            updated_at=now,
            last_error="The worker stopped during the attempt; sending again.",
        )
    due = list(
        Delivery.objects.filter(
            status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRY],
            next_attempt_at__lte=now,
            updated_at__lt=now - SWEEP_GRACE,
        )
        .order_by("next_attempt_at")
        .values_list("pk", "kind")[:limit]
    )
    for pk, event_type in events:
        task_queue(expander_for(event_type), pk)
    send = _send_task()
    for pk, kind in {**rescued, **dict(due)}.items():
        task_queue(send, pk, kind)
    return SweepResult(events=len(events), deliveries=len(due), rescued=len(rescued))


def delivery_retry(*, workspace: Workspace, delivery_id: int) -> Delivery:
    """A member retries a dead delivery by hand: one more try, now."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update().filter(workspace=workspace, pk=delivery_id).first()
        )
        if delivery is None:
            raise NotFound("No such delivery in this workspace.", code="delivery_not_found")
        if delivery.status != DeliveryStatus.DEAD:
            raise Conflict(
                f"Only dead deliveries can be retried; this one is {delivery.status}.",
                code="delivery_not_dead",
            )
        delivery.status = DeliveryStatus.PENDING
        delivery.next_attempt_at = now
        delivery.updated_at = now
        delivery.save(update_fields=["status", "next_attempt_at", "updated_at"])
        transaction.on_commit(partial(task_queue, _send_task(), delivery.pk, delivery.kind))
    return delivery
