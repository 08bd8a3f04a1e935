"""Writes for alerts, outcome webhooks and their delivery.

The guarantees (DESIGN.md, "Outbound"):

1. ``session_change_record`` runs inside the flow's transaction and writes one
   ``OutboxEvent`` when a session gets an outcome. The dispatch task is queued
   with ``transaction.on_commit``; if the broker is down, nothing is lost: the
   row waits and ``deliveries_sweep`` queues it later.
2. ``outbox_dispatch`` expands the event once (row lock + ``dispatched_at``):
   routing rules -> at most one ``Alert`` per session and team -> one ``Delivery``
   per channel, and one per host endpoint subscribed to the event type.
3. ``delivery_attempt`` sends one delivery once per call: it claims the row
   (lock, status pending/retry -> in flight), sends outside any transaction, then
   records the attempt and moves the row to sent, retry (with backoff and jitter)
   or dead. A repeated or duplicated task finds the row no longer due and does
   nothing.
4. ``deliveries_sweep`` (Celery beat) re-queues events not yet expanded,
   deliveries pending or due, and deliveries stuck in flight because their worker
   died. Long waits are rows with ``next_attempt_at``, never broker countdowns.
"""

from __future__ import annotations

import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from alerts.events import session_event_payload
from alerts.models import (
    Alert,
    AlertChange,
    AlertStatus,
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    EventType,
    OutboxEvent,
    RoutingRule,
    Team,
    WebhookEndpoint,
)
from alerts.risk import risk_score
from alerts.selectors import routing_config
from alerts.transports import TransportError, transport_for
from alerts.transports.base import related_for
from alerts.transports.http import check_target
from config.errors import Conflict, Invalid, NotFound
from offers.selectors import tenure_days
from surveys.models import CancelSession, Outcome
from workspaces.models import Workspace
from workspaces.services import workspace_config_bump

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from surveys.services import SessionSnapshot

log = logging.getLogger(__name__)

# Grace before the sweeper re-queues work whose own task should still be coming.
SWEEP_GRACE = timedelta(seconds=5)
ERROR_LENGTH = 500


def _queue(task: Any, *args: Any, countdown: float | None = None) -> None:
    """Publish a task; a broker outage must not fail the caller (the row waits
    for the sweeper)."""
    try:
        task.apply_async(args=args, countdown=countdown)
    except Exception as exc:  # kombu raises a variety of connection errors
        log.warning("Could not queue %s%r (%s); the sweeper will pick it up.", task.name, args, exc)


# --- From the flow ---------------------------------------------------------------


def session_change_record(
    *, session: CancelSession, before: SessionSnapshot | None, now: datetime
) -> OutboxEvent | None:
    """Called by the flow for every change of a session, in its transaction.
    Writes one outbox row (one query) when the session just got an outcome."""
    if not session.outcome or (before is not None and before.outcome == session.outcome):
        return None
    event_type = (
        EventType.SESSION_ABANDONED
        if session.outcome == Outcome.ABANDONED
        else EventType.SESSION_COMPLETED
    )
    event = OutboxEvent.objects.create(
        workspace_id=session.workspace_id,
        session=session,
        event_type=event_type,
        follows_outcome=bool(before is not None and before.outcome),
        payload=session_event_payload(session, event_type=event_type),
        created_at=now,
    )
    from alerts.tasks import outbox_dispatch

    transaction.on_commit(lambda: _queue(outbox_dispatch, event.pk))
    return event


# --- Routing ---------------------------------------------------------------------


@dataclass(frozen=True)
class SessionFacts:
    """What routing rules look at."""

    category: str
    reason: str
    outcome: str
    plan: str
    mrr_cents: int
    tenure_days: int | None
    risk_score: int
    accepted_offer_kind: str


def session_facts(session: CancelSession) -> SessionFacts:
    response = getattr(session, "response", None)
    category = response.category_id if response is not None else ""
    tenure = tenure_days(
        session.subscription_started_at, session.completed_at or session.created_at
    )
    accepted = (
        session.offer.kind if session.offer is not None and session.outcome == Outcome.SAVED else ""
    )
    return SessionFacts(
        category=category,
        reason=response.reason_code if response is not None else "",
        outcome=session.outcome,
        plan=session.plan,
        mrr_cents=session.mrr_cents,
        tenure_days=tenure,
        risk_score=risk_score(
            mrr_cents=session.mrr_cents, tenure=tenure, category=category, outcome=session.outcome
        ),
        accepted_offer_kind=accepted,
    )


def rule_matches(rule: RoutingRule, facts: SessionFacts) -> bool:
    def listed(values: list[str], value: str) -> bool:
        return not values or value in values

    if not (
        listed(rule.categories, facts.category)
        and listed(rule.reasons, facts.reason)
        and listed(rule.outcomes, facts.outcome)
        and listed(rule.plans, facts.plan)
        and listed(rule.offer_kinds, facts.accepted_offer_kind)
    ):
        return False
    if rule.min_mrr_cents is not None and facts.mrr_cents < rule.min_mrr_cents:
        return False
    if rule.min_risk_score is not None and facts.risk_score < rule.min_risk_score:
        return False
    if rule.min_tenure_days is not None or rule.max_tenure_days is not None:
        if facts.tenure_days is None:
            return False
        if rule.min_tenure_days is not None and facts.tenure_days < rule.min_tenure_days:
            return False
        if rule.max_tenure_days is not None and facts.tenure_days > rule.max_tenure_days:
            return False
    return True


def routing_match(*, rules: list[RoutingRule], facts: SessionFacts) -> list[RoutingRule]:
    """The matching rules, by priority, one per team, up to a stop-after-match."""
    matched: list[RoutingRule] = []
    teams: set[int] = set()
    for rule in sorted(rules, key=lambda r: (r.priority, r.pk)):
        if not rule.is_active or not rule_matches(rule, facts):
            continue
        if rule.team_id not in teams:
            matched.append(rule)
            teams.add(rule.team_id)
        if rule.stop_after_match:
            break
    return matched


def routing_rule_validate(
    *, min_tenure_days: int | None, max_tenure_days: int | None, outcomes: list[str]
) -> dict[str, str]:
    """Errors of a rule's conditions, by field (empty when valid)."""
    errors = {}
    if (
        min_tenure_days is not None
        and max_tenure_days is not None
        and min_tenure_days > max_tenure_days
    ):
        errors["max_tenure_days"] = "must not be below the minimum tenure"
    unknown = [o for o in outcomes if o not in Outcome.values]
    if unknown:
        errors["outcomes"] = f"unknown outcomes: {', '.join(unknown)}"
    return errors


# --- Expanding an event ------------------------------------------------------------


# Under load one task also expands the other events waiting: the broker message,
# the transactions and the queries are paid once per batch instead of once per
# event, so latency stays flat as the rate rises. At low rates a batch is one event.
DISPATCH_BATCH = 25
# Sender threads per worker process. A batch writes at most this many deliveries
# "in flight" (the rest wait as pending rows with a task of their own), so each
# one gets a thread at once and is answered or timed out long before the sweeper
# would take it for a dead worker's (DELIVERY_STALE_AFTER_SECONDS).
SEND_AT_ONCE = 64


def outbox_dispatch(*, event_id: int, now: datetime | None = None) -> list[int]:
    """Expand outbox events into alerts and deliveries, once each, and send their
    first tries. Returns the ids of the deliveries it created.

    The task is queued for ``event_id``, but on PostgreSQL it takes the oldest
    events not yet expanded (up to ``DISPATCH_BATCH``, skipping those another
    worker holds): usually just its own; under load, the ones queued behind it,
    whose own tasks then find nothing left and end after one query. One
    transaction expands the lot, the first tries go out side by side, and one
    transaction records their results.
    """
    now = now or timezone.now()
    claimed: list[int] = []
    try:
        with transaction.atomic():
            events = _events_claim(event_id=event_id, limit=_batch_limit(), now=now)
            claimed = [event.pk for event in events]
            taken = _events_expand(events, now=now)
    except Exception:
        if len(claimed) <= 1:
            raise
        # One event that cannot be expanded (bad data, a bug) must not hold back
        # the others: each alone; the bad one fails by itself and waits for the sweeper.
        log.exception("Expanding %s outbox events at once failed; one by one now.", len(claimed))
        taken = []
        for pk in claimed:
            try:
                with transaction.atomic():
                    events = _events_claim(event_id=pk, limit=1, now=now)
                    taken += _events_expand(events, now=now)
            except Exception:
                log.exception("Expanding outbox event %s failed; the sweeper will retry.", pk)
    # The first tries happen here, at once: the rows are loaded (and were written
    # "in flight", already ours) and a support lead is waiting. Failures retry
    # through delivery_send; a crash here leaves rows in flight, which the sweeper
    # sends again.
    deliveries_send(
        deliveries=[d for d in taken if d.status == DeliveryStatus.IN_FLIGHT], taken=True
    )
    return [d.pk for d in taken]


def _batch_limit() -> int:
    # Without SKIP LOCKED (SQLite: one writer, tasks in-process) each task
    # expands its own event only, as concurrent batches could overlap.
    from django.db import connection

    return DISPATCH_BATCH if connection.features.has_select_for_update_skip_locked else 1


def _events_claim(*, event_id: int, limit: int, now: datetime) -> list[OutboxEvent]:
    """Take events not yet expanded (marked expanded at ``now``, which the
    caller's transaction undoes if it fails) and load them with what expanding
    and sending them reads (session, workspace, offer, answer): ``event_id``
    alone when ``limit`` is 1, else the oldest waiting. Rows another worker
    holds are skipped: it is expanding them."""
    from django.db import connection

    if connection.vendor == "postgresql":
        # One statement locks and marks them: under load most tasks find their
        # event taken, and this is all they cost. The partial index
        # outbox_undispatched keeps it cheap with any backlog.
        table = connection.ops.quote_name(OutboxEvent._meta.db_table)
        pick = f"SELECT id FROM {table} WHERE dispatched_at IS NULL"
        pick += " AND id = %s" if limit == 1 else " ORDER BY created_at"
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET dispatched_at = %s WHERE id IN "
                f"({pick} LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING id",
                [now, *([event_id] if limit == 1 else []), limit],
            )
            ids = [row[0] for row in cursor.fetchall()]
    else:
        waiting = OutboxEvent.objects.select_for_update(skip_locked=True).filter(
            dispatched_at__isnull=True
        )
        ids = list(
            (
                waiting.filter(pk=event_id)
                if limit == 1
                else waiting.order_by("created_at")[:limit]
            ).values_list("pk", flat=True)
        )
        if ids:
            OutboxEvent.objects.filter(pk__in=ids).update(dispatched_at=now)
    if not ids:
        return []
    # The rows are ours until commit; load them with what they need.
    return list(
        OutboxEvent.objects.select_related(
            "session__workspace", "session__offer", "session__response"
        )
        .filter(pk__in=ids)
        .order_by("created_at")
    )


def _events_expand(events: list[OutboxEvent], *, now: datetime) -> list[Delivery]:
    """Alerts and deliveries of ``events`` (taken by the caller), written with
    one INSERT each. Returns the deliveries, the
    first ``SEND_AT_ONCE`` written in flight for the caller to send, any others
    pending with a task queued on commit."""
    if not events:
        return []
    # Only a session abandoned and then cancelled can have alerts already; and
    # both its events may be in this batch. At most one alert per session and
    # team (also a unique constraint).
    follows = [event.session_id for event in events if event.follows_outcome]
    alerted: set[tuple[UUID, int]] = (
        set(Alert.objects.filter(session_id__in=follows).values_list("session_id", "team_id"))
        if follows
        else set()
    )
    plans = []
    alerts: list[Alert] = []
    for event in events:
        session = event.session
        facts = session_facts(session)
        routing = routing_config(workspace=session.workspace)
        own = []
        for rule in routing_match(rules=routing.rules, facts=facts):
            if (session.pk, rule.team_id) in alerted:
                continue
            alerted.add((session.pk, rule.team_id))
            own.append(
                Alert(
                    workspace=session.workspace,
                    session=session,
                    team=rule.team,
                    rule=rule,
                    event=event,
                    risk_score=facts.risk_score,
                    created_at=now,
                )
            )
        alerts += own
        plans.append((event, routing, own))
    if alerts:
        Alert.objects.bulk_create(alerts)
    deliveries: list[Delivery] = []
    for event, routing, own in plans:
        for alert in own:
            for channel in routing.channels.get(alert.team_id, []):
                deliveries.append(
                    _delivery(event, kind=channel.kind, now=now, alert=alert, channel=channel)
                )
        for endpoint in routing.endpoints:
            if endpoint.wants(event.event_type):
                deliveries.append(_delivery(event, kind="endpoint", now=now, endpoint=endpoint))
    # Everything the transports read is loaded already: no query while sending.
    for delivery in deliveries[:SEND_AT_ONCE]:
        delivery.status, delivery.attempts = DeliveryStatus.IN_FLIGHT, 1
    Delivery.objects.bulk_create(deliveries)
    if len(deliveries) > SEND_AT_ONCE:
        from alerts.tasks import delivery_send

        for delivery in deliveries[SEND_AT_ONCE:]:
            transaction.on_commit(partial(_queue, delivery_send, delivery.pk, delivery.kind))
    return deliveries


def _delivery(event: OutboxEvent, *, kind: str, now: datetime, **targets: Any) -> Delivery:
    """A new delivery row, pending (``_events_expand`` marks the ones its worker
    sends at once in flight)."""
    return Delivery(
        workspace_id=event.workspace_id,
        event=event,
        kind=kind,
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
        **targets,
    )


def delivery_create(
    *, event: OutboxEvent, kind: str, now: datetime | None = None, queue: bool = True
) -> Delivery:
    """A delivery of ``event`` through a transport another app registered (for
    example billing): it gets the same retries, records and dead letters."""
    now = now or timezone.now()
    delivery = _delivery(event, kind=kind, now=now)
    delivery.save(force_insert=True)
    if queue:
        from alerts.tasks import delivery_send

        transaction.on_commit(lambda: _queue(delivery_send, delivery.pk, kind))
    return delivery


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
    delivery = Delivery.objects.select_related(*related_for(kind)).get(pk=delivery_id)
    if delivery.alert is not None:
        delivery.alert.event = delivery.event  # the same event; saves a query
    return delivery


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
    """First tries of freshly expanded deliveries (loaded with all they need):
    claim each (unless written ``taken``, in flight for us), send them side by side
    (a slow receiver does not hold up the others), record each result."""
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
                    _disable_target(delivery, reason=delivery.last_error)
            elif delay is not None and delay <= settings.DELIVERY_COUNTDOWN_MAX_SECONDS:
                _queue_retry(delivery, countdown=delay)
    return [delivery.status for delivery, *_ in results]


def _queue_retry(delivery: Delivery, *, countdown: float) -> None:
    from alerts.tasks import delivery_send

    pk, kind = delivery.pk, delivery.kind
    transaction.on_commit(lambda: _queue(delivery_send, pk, kind, countdown=countdown))


def _disable_target(delivery: Delivery, *, reason: str) -> None:
    workspace_config_bump(workspace_id=delivery.workspace_id)
    if delivery.endpoint_id:
        WebhookEndpoint.objects.filter(pk=delivery.endpoint_id).update(
            is_enabled=False, disabled_reason=reason[:300]
        )
    if delivery.channel_id:
        Channel.objects.filter(pk=delivery.channel_id).update(
            is_enabled=False, disabled_reason=reason[:300]
        )


@dataclass(frozen=True)
class SweepResult:
    events: int
    deliveries: int
    rescued: int


def deliveries_sweep(*, now: datetime | None = None, limit: int = 1000) -> SweepResult:
    """Queue what should be moving and is not: events not yet expanded,
    deliveries pending or due, and deliveries whose worker died mid-send."""
    from alerts.tasks import delivery_send, outbox_dispatch

    now = now or timezone.now()
    events = list(
        OutboxEvent.objects.filter(dispatched_at__isnull=True, created_at__lt=now - SWEEP_GRACE)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
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
    for pk in events:
        _queue(outbox_dispatch, pk)
    for pk, kind in {**rescued, **dict(due)}.items():
        _queue(delivery_send, pk, kind)
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
        from alerts.tasks import delivery_send

        transaction.on_commit(lambda: _queue(delivery_send, delivery.pk, delivery.kind))
    return delivery


# --- Webhook endpoints -----------------------------------------------------------


def webhook_url_validate(url: str) -> None:
    try:
        check_target(url)
    except TransportError as exc:
        raise Invalid(exc.message, code="url_refused", fields={"url": exc.message}) from None


def webhook_endpoint_create(
    *, workspace: Workspace, url: str, events: list[str]
) -> WebhookEndpoint:
    """Register the host's endpoint; its secret is returned once, at creation."""
    unknown = [e for e in events if e not in EventType.values]
    if unknown:
        raise Invalid(
            "Unknown event types.",
            code="validation_error",
            fields={
                "events": f"unknown: {', '.join(unknown)}; known: {', '.join(EventType.values)}"
            },
        )
    webhook_url_validate(url)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(workspace=workspace, url=url, events=list(events))
        workspace_config_bump(workspace_id=workspace.pk)
    return endpoint


def webhook_endpoint_delete(*, workspace: Workspace, endpoint_id: int) -> None:
    with transaction.atomic():
        deleted, _ = WebhookEndpoint.objects.filter(workspace=workspace, pk=endpoint_id).delete()
        if not deleted:
            raise NotFound("No such webhook endpoint.", code="endpoint_not_found")
        workspace_config_bump(workspace_id=workspace.pk)


# --- The inbox -------------------------------------------------------------------


def alert_update(
    *,
    alert: Alert,
    user: AbstractBaseUser,
    status: str,
    assignee_id: int | None,
    note: str = "",
) -> Alert:
    """A member works an alert: status, assignee, and a note; every change is kept."""
    if status not in AlertStatus.values:
        raise Invalid(f"Unknown status {status!r}.", fields={"status": "unknown status"})
    now = timezone.now()
    with transaction.atomic():
        locked = Alert.objects.select_for_update().get(pk=alert.pk)
        note = note.strip()
        if locked.status == status and locked.assignee_id == assignee_id and not note:
            return locked
        AlertChange.objects.create(
            alert=locked,
            user_id=user.pk,
            from_status=locked.status,
            to_status=status,
            note=note,
            created_at=now,
        )
        locked.status = status
        locked.assignee_id = assignee_id
        if note:
            stamp = now.strftime("%Y-%m-%d %H:%M")
            locked.notes = f"{locked.notes}\n[{stamp} {user.get_username()}] {note}".strip()
        locked.save(update_fields=["status", "assignee", "notes", "updated_at"])
    return locked


# --- Defaults ----------------------------------------------------------------------

RuleSpec = tuple[str, int, dict[str, Any]]
DEFAULT_TEAMS: list[tuple[str, str, list[RuleSpec]]] = [
    # (name, mailbox, rules: (name, priority, conditions))
    (
        "Customer success",
        "success",
        [
            (
                "High-value customer at risk",
                10,
                {
                    "outcomes": ["cancelled", "abandoned"],
                    "min_mrr_cents": 9900,
                    "min_risk_score": 60,
                },
            )
        ],
    ),
    (
        "Support",
        "support",
        [
            ("Complaint about our service", 20, {"categories": ["customer_service"]}),
            ("Customer asked to talk to support", 20, {"offer_kinds": ["support"]}),
        ],
    ),
    (
        "Product",
        "product",
        [
            (
                "Quality, missing features or too complex",
                30,
                {
                    "categories": ["product_quality", "missing_features", "too_complex"],
                    "outcomes": ["cancelled"],
                },
            )
        ],
    ),
    ("Billing", "billing", [("Left over price", 40, {"categories": ["price"]})]),
]


def routing_defaults_create(*, workspace: Workspace, email_domain: str) -> list[Team]:
    """Sensible teams, email channels and routing rules for a new workspace:
    success hears about high-value customers at risk, support about service
    complaints and callback requests, product about quality and missing features,
    billing about price."""
    teams = []
    with transaction.atomic():
        for name, mailbox, rules in DEFAULT_TEAMS:
            # The product team reads the weekly digest of reasons and verbatims.
            team, _ = Team.objects.get_or_create(
                workspace=workspace,
                name=name,
                defaults={"receives_digest": name == "Product"},
            )
            if not team.channels.exists():
                Channel.objects.create(team=team, kind="email", target=f"{mailbox}@{email_domain}")
            for rule_name, priority, conditions in rules:
                RoutingRule.objects.get_or_create(
                    workspace=workspace,
                    name=rule_name,
                    defaults={"team": team, "priority": priority, **conditions},
                )
            teams.append(team)
        workspace_config_bump(workspace_id=workspace.pk)
    return teams


# --- Erasing a customer's personal data ------------------------------------------------

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
            OutboxEvent.objects.select_for_update(of=("self",))
            .select_related("session__response")
            .filter(session_id__in=session_ids)
            .order_by("pk")
        )
        for event in events:
            event.payload = _erased_payload(event.payload, event.session)
        OutboxEvent.objects.bulk_update(events, ["payload"], batch_size=500)
        alerts = Alert.objects.filter(session_id__in=session_ids)
        alert_count = alerts.count()
        notes = alerts.exclude(notes="").update(notes="")
        notes += (
            AlertChange.objects.filter(alert__session_id__in=session_ids)
            .exclude(note="")
            .update(note="")
        )
        deliveries = Delivery.objects.filter(event__session_id__in=session_ids)
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
        attempts = DeliveryAttempt.objects.filter(delivery__event__session_id__in=session_ids)
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
