"""Whether saves lasted: of the customers saved at least ``horizon`` days ago
(matured), how many had no cancellation within ``horizon`` days of the save
(retained), from the subscription events the host or Stripe sent
(``offers.subscription_events``).

A cancellation counts from the moment of the save to ``horizon`` days after it;
a reactivation after it does not undo it (the save did not last that
horizon). Events before the save (the cancellation the customer was saved
from, say) do not count.

Each saved session keeps its first cancellation at or after the save
(``CancelSession.save_cancelled_at``; null while there is none), so the figure
is one aggregate over the partial index ``session_saved_lasting`` (workspace,
time of the save; the offer, the experiment arm and that first cancellation
included), index-only, every horizon in the same pass: a save is lost at
``horizon`` when its first cancellation came before ``horizon`` days had
passed. The column is kept exact where it can change:

- a save (``save_first_cancellation``, in the flow's transaction, the session
  locked): the earliest cancellation already recorded at or after it (an event
  may be recorded before the session that names its subscription), worked out
  by the statement that writes the save, so the flow makes no more queries;
- a cancellation recorded (``save_cancellation_record``, in the event's
  transaction): every saved session of the subscription saved at or before it
  whose first cancellation is later or missing takes it. It also touches the
  subscription's open session, if any: a save made meanwhile (its row locked by
  the flow) is then waited for and seen, so neither write misses the other;
- an erasure replaces events' ids and drops duplicates of the same
  subscription, type and time, which leaves the first cancellation as it was;
  ``save_cancellations_refresh`` recounts the subscriptions it touched anyway.

A replay of an event id records nothing, so changes nothing (idempotent on the
event's id). ``save_cancellations_refresh`` recounts from the events (the
migration that added the column, rows loaded with SQL, ``manage.py
saves_refresh``); ``durable_saves_recount`` is the figure straight from the
events, which the tests hold the fast one to.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Case, Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils import timezone

from offers.models import SubscriptionEvent, SubscriptionEventType
from surveys.models import OPEN_STATUSES, CancelSession, Outcome
from surveys.repository import Computed
from workspaces.models import Workspace

HORIZONS = (30, 60, 90)
GROUPS = ("offer_id", "experiment_variant_id")


@dataclass(frozen=True)
class SavesScope:
    """Which saves count: made in [since, until) (by the time of the save), and of
    this plan, survey or language when given."""

    since: datetime | None = None
    until: datetime | None = None
    plan: str = ""
    survey_id: int | None = None
    locale: str = ""
    variant_ids: tuple[int, ...] | None = None


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def durable_figures(saved: int, matured: int, retained: int) -> dict[str, Any]:
    return {
        "saved": saved,
        "matured": matured,
        "retained": retained,
        "rate": _rate(retained, matured),
    }


# --- Keeping each save's first cancellation ---------------------------------------


def _cancellations(workspace_id: Any, subscription_id: Any, since: Any) -> QuerySet[Any]:
    return SubscriptionEvent.objects.filter(
        workspace_id=workspace_id,
        subscription_id=subscription_id,
        type=SubscriptionEventType.CANCELLED,
        occurred_at__gte=since,
    )


def save_first_cancellation(session: CancelSession) -> Computed:
    """The first cancellation of the session's subscription at or after its save
    (``completed_at``) recorded already, or NULL: what a session being saved
    keeps in ``save_cancelled_at``, worked out in the statement that writes it
    (``surveys.repository.Computed``: no query of its own)."""
    moment = SubscriptionEvent._meta.get_field("occurred_at").get_db_prep_value(
        session.completed_at, connection
    )
    return Computed(
        sql=(
            # The type written out, as the partial index of cancellations says it.
            "SELECT MIN(occurred_at) FROM offers_subscriptionevent WHERE workspace_id = %s "
            f"AND subscription_id = %s AND type = '{SubscriptionEventType.CANCELLED.value}' "
            "AND occurred_at >= %s"
        ),
        params=(session.workspace_id, session.subscription_id, moment),
    )


def save_cancellation_record(event: SubscriptionEvent) -> int:
    """A cancellation was recorded: the saved sessions of its subscription saved
    at or before it, whose first cancellation is later or missing, take it. Call
    in the transaction that records the event. Returns the rows written (the
    subscription's open session included)."""
    if event.type != SubscriptionEventType.CANCELLED:
        return 0
    moment = event.occurred_at
    later = Q(outcome=Outcome.SAVED, completed_at__lte=moment) & (
        Q(save_cancelled_at__isnull=True) | Q(save_cancelled_at__gt=moment)
    )
    # The open session too (the partial unique index finds it): a save being
    # made right now holds its row, so this waits for it and, PostgreSQL reading
    # the row again once it is saved, sees it saved. Its value stays otherwise.
    return CancelSession.objects.filter(
        Q(status__in=OPEN_STATUSES) | later,
        workspace_id=event.workspace_id,
        subscription_id=event.subscription_id,
    ).update(
        save_cancelled_at=Case(
            When(later, then=Value(moment)),
            default=F("save_cancelled_at"),
        )
    )


def save_cancellations_refresh(
    *, workspace_id: int | None = None, subscription_ids: Iterable[str] | None = None
) -> int:
    """Recount the first cancellation of saved sessions from the events: of one
    workspace (and of these subscriptions only), or of every workspace. Returns
    the sessions written."""
    sessions = CancelSession.objects.filter(outcome=Outcome.SAVED, completed_at__isnull=False)
    if workspace_id is not None:
        sessions = sessions.filter(workspace_id=workspace_id)
    if subscription_ids is not None:
        sessions = sessions.filter(subscription_id__in=list(subscription_ids))
    first = (
        _cancellations(
            OuterRef("workspace_id"), OuterRef("subscription_id"), OuterRef("completed_at")
        )
        .order_by("occurred_at")
        .values("occurred_at")[:1]
    )
    return sessions.update(save_cancelled_at=Subquery(first))


# --- The figure ---------------------------------------------------------------------


def _saves(workspace: Workspace, scope: SavesScope) -> QuerySet[CancelSession]:
    saves = CancelSession.objects.filter(
        workspace=workspace, outcome=Outcome.SAVED, completed_at__isnull=False
    )
    if scope.since is not None:
        saves = saves.filter(completed_at__gte=scope.since)
    if scope.until is not None:
        saves = saves.filter(completed_at__lt=scope.until)
    if scope.plan:
        saves = saves.filter(plan=scope.plan)
    if scope.survey_id is not None:
        saves = saves.filter(survey_id=scope.survey_id)
    if scope.variant_ids is not None:
        saves = saves.filter(experiment_variant_id__in=scope.variant_ids)
    if scope.locale:
        # Sessions opened without a language speak the workspace's default.
        in_locale = Q(locale=scope.locale)
        if scope.locale == workspace.default_locale:
            in_locale |= Q(locale="")
        saves = saves.filter(in_locale)
    return saves.order_by()


def _check(horizons: Iterable[int], group_by: str | None) -> None:
    for horizon in horizons:
        if horizon not in HORIZONS:
            raise ValueError(f"horizon must be one of {HORIZONS}")
    if group_by is not None and group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {GROUPS}")


def durable_saves_at(
    *,
    workspace: Workspace,
    horizons: Iterable[int] = HORIZONS,
    scope: SavesScope | None = None,
    group_by: str | None = None,
    now: datetime | None = None,
) -> dict[int, dict[Any, dict[str, Any]]]:
    """``durable_saves`` at several horizons, read in one pass: horizon → key →
    figures."""
    horizons = tuple(dict.fromkeys(horizons))
    _check(horizons, group_by)
    now = now or timezone.now()
    saves = _saves(workspace, scope or SavesScope())
    # Counted by a column of the index (never null here): COUNT(id) would read
    # every row from the table.
    counts: dict[str, Any] = {"n_saved": Count("completed_at")}
    for horizon in horizons:
        matured = Q(completed_at__lte=now - timedelta(days=horizon))
        # save_cancelled_at is at or after the save: lost within the horizon when
        # it is before the horizon's end.
        lost = matured & Q(save_cancelled_at__lt=F("completed_at") + timedelta(days=horizon))
        counts[f"n_matured_{horizon}"] = Count("completed_at", filter=matured)
        counts[f"n_lost_{horizon}"] = Count("completed_at", filter=lost)
    if group_by is None:
        # One aggregate (values() with no field would group by every column).
        rows = [saves.aggregate(**counts)]
    else:
        rows = list(saves.values(group_by).annotate(**counts))
    found: dict[int, dict[Any, dict[str, Any]]] = {h: {} for h in horizons}
    for row in rows:
        key = row[group_by] if group_by else None
        for horizon in horizons:
            matured_n = row[f"n_matured_{horizon}"]
            found[horizon][key] = durable_figures(
                row["n_saved"], matured_n, matured_n - row[f"n_lost_{horizon}"]
            )
    return found


def durable_saves(
    *,
    workspace: Workspace,
    horizon: int,
    scope: SavesScope | None = None,
    group_by: str | None = None,
    now: datetime | None = None,
) -> dict[Any, dict[str, Any]]:
    """Saved, matured and retained sessions (and the rate retained / matured), in
    total (key None) or per ``group_by`` (offer_id or experiment_variant_id; None
    for sessions saved without one)."""
    _check([horizon], group_by)
    return durable_saves_at(
        workspace=workspace, horizons=[horizon], scope=scope, group_by=group_by, now=now
    )[horizon]


def durable_saves_recount(
    *,
    workspace: Workspace,
    horizon: int,
    scope: SavesScope | None = None,
    group_by: str | None = None,
    now: datetime | None = None,
) -> dict[Any, dict[str, Any]]:
    """``durable_saves`` straight from the events (a semi-join per save, slow at
    scale), without ``save_cancelled_at``: what the kept column must agree with."""
    _check([horizon], group_by)
    now = now or timezone.now()
    saves = _saves(workspace, scope or SavesScope())
    cancelled_within = Exists(
        SubscriptionEvent.objects.filter(
            workspace_id=OuterRef("workspace_id"),
            subscription_id=OuterRef("subscription_id"),
            type=SubscriptionEventType.CANCELLED,
            occurred_at__gte=OuterRef("completed_at"),
            occurred_at__lt=OuterRef("completed_at") + timedelta(days=horizon),
        )
    )
    matured_by = now - timedelta(days=horizon)
    # The total is there with nothing saved, as an aggregate's is.
    found: dict[Any, list[int]] = {} if group_by else {None: [0, 0, 0]}
    for session in saves.annotate(lost=cancelled_within).values(
        "pk", "completed_at", "lost", *([group_by] if group_by else [])
    ):
        key = session[group_by] if group_by else None
        figures = found.setdefault(key, [0, 0, 0])
        figures[0] += 1
        if session["completed_at"] <= matured_by:
            figures[1] += 1
            figures[2] += 0 if session["lost"] else 1
    return {key: durable_figures(*figures) for key, figures in found.items()}


def durable_saves_by_variant(
    *, workspace: Workspace, variant_ids: list[int], horizon: int = 90, now: datetime | None = None
) -> dict[int, dict[str, Any]]:
    """Per experiment arm (every save the arm ever made): saved, matured, retained
    and the durable save rate at ``horizon`` days; arms without saves get zeros."""
    found = durable_saves(
        workspace=workspace,
        horizon=horizon,
        scope=SavesScope(variant_ids=tuple(variant_ids)),
        group_by="experiment_variant_id",
        now=now,
    )
    empty = durable_figures(0, 0, 0)
    return {vid: found.get(vid, empty) for vid in variant_ids}
