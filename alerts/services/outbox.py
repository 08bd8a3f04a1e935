"""The outbox: an outcome recorded in the flow's transaction, then expanded once
into alerts and deliveries.

``session_change_record`` runs inside the flow's transaction and writes one
``outbound.OutboxEvent`` (the session's id its subject) when a session gets an
outcome; the dispatch task (this app's expander, registered with
``outbound.registry``) is queued on commit (off the request, ``config.nudge``),
and if the broker is down the row waits for ``outbound``'s sweeper.
``outbox_dispatch`` expands the event once
(row lock + ``dispatched_at``): routing rules -> at most one ``Alert`` per
session and team -> one delivery per channel, and one per host endpoint
subscribed to the event type, each with its ``DeliveryRoute``; then it sends
their first tries through ``outbound``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from alerts.events import session_event_payload
from alerts.models import Alert, DeliveryRoute, EventType, channel_key, endpoint_key
from alerts.selectors import routing_config
from alerts.services.routing import routing_match
from outbound.models import Delivery, DeliveryStatus, OutboxEvent
from outbound.services import (
    SEND_AT_ONCE,
    deliveries_send,
    deliveries_write,
    delivery_new,
    event_create,
)
from surveys.models import CancelSession, Outcome
from surveys.rules import session_facts

if TYPE_CHECKING:
    from surveys.services import SessionSnapshot

log = logging.getLogger(__name__)

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
    # The expander (``outbox_dispatch``) is queued on commit, off the request: one
    # message wakes a worker for a batch of waiting events (config.nudge).
    return event_create(
        workspace_id=session.workspace_id,
        subject_id=session.pk,
        event_type=event_type,
        follows_outcome=bool(before is not None and before.outcome),
        payload=session_event_payload(session, event_type=event_type),
        now=now,
        covers=_batch_limit(),
    )


# --- Expanding an event ------------------------------------------------------------


# Under load one task also expands the other events waiting: the broker message,
# the transactions and the queries are paid once per batch instead of once per
# event, so latency stays flat as the rate rises. At low rates a batch is one event.
DISPATCH_BATCH = 25


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
            claimed = [event.pk for event, _session in events]
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


Claimed = list[tuple[OutboxEvent, CancelSession]]


def _events_claim(*, event_id: int, limit: int, now: datetime) -> Claimed:
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
        types = list(EventType.values)  # outcome events only: other writers' are theirs
        pick = f"SELECT id FROM {table} WHERE dispatched_at IS NULL"
        pick += f" AND event_type IN ({', '.join(['%s'] * len(types))})"
        pick += " AND id = %s" if limit == 1 else " ORDER BY created_at"
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET dispatched_at = %s WHERE id IN "
                f"({pick} LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING id",
                [now, *types, *([event_id] if limit == 1 else []), limit],
            )
            ids = [row[0] for row in cursor.fetchall()]
    else:
        waiting = OutboxEvent.objects.select_for_update(skip_locked=True).filter(
            dispatched_at__isnull=True, event_type__in=EventType.values
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
    # The rows are ours until commit; load them and their sessions with what
    # expanding and sending reads.
    events = list(OutboxEvent.objects.filter(pk__in=ids).order_by("created_at"))
    sessions = CancelSession.objects.select_related("workspace", "offer", "response").in_bulk(
        [event.subject_id for event in events if event.subject_id is not None]
    )
    claimed = []
    for event in events:
        session = sessions.get(event.subject_id) if event.subject_id is not None else None
        if session is None:  # not an outcome event (or its session is gone): nothing to route
            log.warning("Outbox event %s has no session to route; nothing sent.", event.pk)
            continue
        claimed.append((event, session))
    return claimed


def _events_expand(events: Claimed, *, now: datetime) -> list[Delivery]:
    """Alerts and deliveries of ``events`` (taken by the caller), written with
    one INSERT each. Returns the deliveries, the
    first ``SEND_AT_ONCE`` written in flight for the caller to send, any others
    pending with a task queued on commit."""
    if not events:
        return []
    # Only a session abandoned and then cancelled can have alerts already; and
    # both its events may be in this batch. At most one alert per session and
    # team (also a unique constraint).
    follows = [session.pk for event, session in events if event.follows_outcome]
    alerted: set[tuple[UUID, int]] = (
        set(Alert.objects.filter(session_id__in=follows).values_list("session_id", "team_id"))
        if follows
        else set()
    )
    plans = []
    alerts: list[Alert] = []
    for event, session in events:
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
    routes: list[DeliveryRoute] = []
    for event, routing, own in plans:
        for alert in own:
            for channel in routing.channels.get(alert.team_id, []):
                deliveries.append(
                    delivery_new(event, kind=channel.kind, key=channel_key(channel.pk), now=now)
                )
                routes.append(DeliveryRoute(alert=alert, channel=channel))
        for endpoint in routing.endpoints:
            if endpoint.wants(event.event_type):
                deliveries.append(
                    delivery_new(event, kind="endpoint", key=endpoint_key(endpoint.pk), now=now)
                )
                routes.append(DeliveryRoute(endpoint=endpoint))
    # Everything the transports read is loaded already: no query while sending.
    # The first SEND_AT_ONCE are written in flight, for this worker to send.
    deliveries_write(deliveries, taken=SEND_AT_ONCE)
    for delivery, route in zip(deliveries, routes, strict=True):
        route.delivery = delivery
        delivery.route = route
    DeliveryRoute.objects.bulk_create(routes)
    return deliveries
