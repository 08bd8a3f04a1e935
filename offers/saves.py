"""Whether saves lasted: of the customers saved at least ``horizon`` days ago
(matured), how many had no cancellation within ``horizon`` days of the save
(retained), from the subscription events the host or Stripe sent
(``offers.subscription_events``).

Two statements per figure: the saved and matured sessions, counted from the
partial index ``session_saved`` (workspace, time of the save; saved sessions
only, with their subscription, offer and experiment arm included); and the
matured ones cancelled within the horizon, a semi-join against the
cancellations (partial index ``subscription_event_cancels``), which the planner
runs as it sees fit (a hash of the cancellations, or one index probe per save).

A cancellation counts from the moment of the save to ``horizon`` days after it;
a reactivation after it does not undo it (the save did not last that
horizon). Events before the save (the cancellation the customer was saved
from, say) do not count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from offers.models import SubscriptionEvent, SubscriptionEventType
from surveys.models import CancelSession, Outcome
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
    if horizon not in HORIZONS:
        raise ValueError(f"horizon must be one of {HORIZONS}")
    if group_by is not None and group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {GROUPS}")
    scope = scope or SavesScope()
    now = now or timezone.now()
    matured_by = now - timedelta(days=horizon)
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
    cancelled_within = Exists(
        SubscriptionEvent.objects.filter(
            workspace_id=OuterRef("workspace_id"),
            subscription_id=OuterRef("subscription_id"),
            type=SubscriptionEventType.CANCELLED,
            occurred_at__gte=OuterRef("completed_at"),
            occurred_at__lt=OuterRef("completed_at") + timedelta(days=horizon),
        )
    )
    matured = Q(completed_at__lte=matured_by)
    saves = saves.order_by()
    counts = {"n_saved": Count("pk"), "n_matured": Count("pk", filter=matured)}
    # The cancelled saves apart, with the EXISTS in the WHERE clause: there the
    # planner runs it as a semi-join (a hash of the cancellations, say); inside an
    # aggregate's FILTER it would be a subquery per saved session.
    lost = saves.filter(matured).filter(cancelled_within)
    if group_by is None:
        # One aggregate (values() with no field would group by every column).
        rows = [saves.aggregate(**counts)]
        lost_by = {None: lost.count()}
    else:
        rows = list(saves.values(group_by).annotate(**counts))
        lost_by = {row[group_by]: row["n"] for row in lost.values(group_by).annotate(n=Count("pk"))}
    found: dict[Any, dict[str, Any]] = {}
    for row in rows:
        key = row[group_by] if group_by else None
        found[key] = durable_figures(
            row["n_saved"], row["n_matured"], row["n_matured"] - lost_by.get(key, 0)
        )
    return found


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
