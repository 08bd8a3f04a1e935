"""Writes for analytics: keeping rollups current, rebuilding and compacting them,
recording the host's subscriber counts. (The weekly digest is in
``analytics/digest.py``.)"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.utils import timezone

from analytics.models import (
    ROLLUP_DIMENSIONS,
    ROLLUP_MEASURES,
    ROLLUP_SHARDS,
    SessionRollup,
    SubscriberCount,
)
from config.errors import Invalid
from workspaces.models import Workspace

if TYPE_CHECKING:
    from surveys.models import CancelSession
    from surveys.services import SessionSnapshot

logger = logging.getLogger(__name__)

# (day, survey_id, plan, locale, reason_code, category_code, offer_id, outcome, shard)
RollupKey = tuple[date, int, str, str, str, str, int, str, int]
Measures = tuple[int, int, int]  # sessions, mrr_cents, completed_seconds

DECIDED = ("saved", "cancelled")


def epoch_seconds(moment: datetime) -> int:
    """Whole seconds since the epoch, rounded down. Durations are differences of
    these, so the live upkeep and the SQL recount agree to the second."""
    return int(moment.timestamp() // 1)


def session_day(session: CancelSession, time_zone: str) -> date:
    """The day a session counts under: when it started, in the workspace's zone."""
    return session.created_at.astimezone(ZoneInfo(time_zone)).date()


def _contribution(
    session: CancelSession, state: SessionSnapshot, *, workspace: Workspace
) -> tuple[RollupKey, Measures]:
    seconds = 0
    if state.outcome in DECIDED and state.completed_at is not None:
        seconds = epoch_seconds(state.completed_at) - epoch_seconds(session.created_at)
    key: RollupKey = (
        session_day(session, workspace.time_zone),
        session.survey_id,
        session.plan,
        state.locale or workspace.default_locale,
        state.reason_code,
        state.category_code,
        state.offer_id or 0,
        state.outcome,
        session.pk.int % ROLLUP_SHARDS,
    )
    return key, (1, session.mrr_cents, seconds)


def _upsert(workspace_id: int, deltas: dict[RollupKey, Measures]) -> None:
    """Add the deltas to the rollup rows in one statement (rows created as needed).

    Keys go in sorted order, so two transactions touching the same rows lock them
    in the same order and cannot deadlock each other."""
    rows = [(key, values) for key, values in sorted(deltas.items()) if any(values)]
    if not rows:
        return
    table = SessionRollup._meta.db_table
    columns = ["workspace_id", *ROLLUP_DIMENSIONS, *ROLLUP_MEASURES]
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    updates = ", ".join(f"{m} = {table}.{m} + excluded.{m}" for m in ROLLUP_MEASURES)
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        + ", ".join([placeholders] * len(rows))
        + f" ON CONFLICT (workspace_id, {', '.join(ROLLUP_DIMENSIONS)}) DO UPDATE SET {updates}"
    )
    params: list[Any] = []
    for key, values in rows:
        params += [workspace_id, *key, *values]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def rollup_session_change(
    *, session: CancelSession, before: SessionSnapshot | None, after: SessionSnapshot
) -> None:
    """Move one session's contribution from its old rollup row to its new one.

    Called by the flow for every change, inside its transaction: one query, or
    none when nothing the rollups count has changed. Needs ``session.workspace``
    loaded (the flow has it already)."""
    workspace = session.workspace
    deltas: dict[RollupKey, Measures] = {}
    new_key, new_values = _contribution(session, after, workspace=workspace)
    deltas[new_key] = new_values
    if before is not None:
        old_key, old_values = _contribution(session, before, workspace=workspace)
        current = deltas.get(old_key, (0, 0, 0))
        deltas[old_key] = tuple(c - o for c, o in zip(current, old_values, strict=True))  # type: ignore[assignment]
    _upsert(session.workspace_id, deltas)


# --- Rebuild and compaction -------------------------------------------------------------

# Without the shard: what a recount and the stored rows are compared on.
FigureKey = tuple[date, int, str, str, str, str, int, str]


@dataclass
class RebuildReport:
    workspace: str
    keys_checked: int = 0
    sessions_counted: int = 0
    differences: list[tuple[FigureKey, Measures, Measures]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def _stored_figures(workspace: Workspace) -> dict[FigureKey, Measures]:
    totals: dict[FigureKey, list[int]] = defaultdict(lambda: [0, 0, 0])
    rows = SessionRollup.objects.filter(workspace=workspace).values_list(
        *ROLLUP_DIMENSIONS[:-1], *ROLLUP_MEASURES
    )
    for row in rows.iterator(chunk_size=5000):
        key = tuple(row[:8])
        total = totals[key]
        for i, value in enumerate(row[8:]):
            total[i] += value
    return {k: (v[0], v[1], v[2]) for k, v in totals.items() if any(v)}


def _recount(workspace: Workspace) -> dict[FigureKey, Measures]:
    from analytics.selectors import raw_grouped

    result: dict[FigureKey, Measures] = {}
    for row in raw_grouped(workspace=workspace, filters=None, group_by=ROLLUP_DIMENSIONS[:-1]):
        key = tuple(row[d] for d in ROLLUP_DIMENSIONS[:-1])
        result[key] = (row["sessions"], row["mrr_cents"], row["completed_seconds"])
    return result


def rollups_rebuild(*, workspace: Workspace, apply: bool = True) -> RebuildReport:
    """Recount the workspace's sessions and compare with the rollups; with
    ``apply``, correct every difference.

    The recount and the stored rollups are read in one snapshot (repeatable read
    on PostgreSQL), and corrections are applied as deltas, so flow changes made
    while it runs are neither lost nor counted twice."""
    report = RebuildReport(workspace=workspace.slug)
    # Inside a caller's transaction (tests) the caller's snapshot rules apply.
    own_snapshot = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic():
        if own_snapshot:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        counted = _recount(workspace)
        stored = _stored_figures(workspace)
    report.keys_checked = len(set(counted) | set(stored))
    report.sessions_counted = sum(m[0] for m in counted.values())
    deltas: dict[RollupKey, Measures] = {}
    for key in sorted(set(counted) | set(stored)):
        want = counted.get(key, (0, 0, 0))
        have = stored.get(key, (0, 0, 0))
        if want != have:
            report.differences.append((key, want, have))
            deltas[(*key, 0)] = (want[0] - have[0], want[1] - have[1], want[2] - have[2])
    if apply and deltas:
        items = list(deltas.items())
        for start in range(0, len(items), 500):
            with transaction.atomic():
                _upsert(workspace.pk, dict(items[start : start + 500]))
    return report


def rollups_compact(*, settled_before: date | None = None, batch_days: int = 7) -> int:
    """Fold the shards of days that no longer change often into shard 0, and drop
    rows that count nothing. Returns the number of rows removed.

    Sessions are decided within a day or two of starting (abandoned after
    SESSION_ABANDON_AFTER), so by default days older than three are settled. A late
    change (a re-label) still works afterwards: it just writes a shard row again."""
    settled_before = settled_before or (timezone.now().date() - timedelta(days=3))
    removed = 0
    while True:
        with transaction.atomic():
            days = list(
                SessionRollup.objects.filter(day__lt=settled_before)
                .exclude(shard=0)
                .values_list("day", flat=True)
                .order_by("day")
                .distinct()[:batch_days]
            )
            if not days:
                break
            rows = list(
                SessionRollup.objects.select_for_update()
                .filter(day__in=days)
                .exclude(shard=0)
                .order_by("pk")
                .values_list("pk", "workspace_id", *ROLLUP_DIMENSIONS[:-1], *ROLLUP_MEASURES)
            )
            by_workspace: dict[int, dict[RollupKey, list[int]]] = defaultdict(
                lambda: defaultdict(lambda: [0, 0, 0])
            )
            for row in rows:
                key = (*row[2:10], 0)
                total = by_workspace[row[1]][key]
                for i, value in enumerate(row[10:]):
                    total[i] += value
            for workspace_id, sums in by_workspace.items():
                _upsert(workspace_id, {k: (v[0], v[1], v[2]) for k, v in sums.items()})
            SessionRollup.objects.filter(pk__in=[row[0] for row in rows]).delete()
            removed += len(rows)
    with transaction.atomic():
        empty, _ = SessionRollup.objects.filter(
            day__lt=settled_before, sessions=0, mrr_cents=0, completed_seconds=0
        ).delete()
    return removed + empty


# --- Subscriber counts -------------------------------------------------------------------


@dataclass(frozen=True)
class SubscriberCountInput:
    date: date
    active: int
    new: int


def subscriber_counts_record(
    *, workspace: Workspace, counts: Iterable[SubscriberCountInput]
) -> list[SubscriberCount]:
    """Store the host's subscriber counts; posting a day again replaces it."""
    counts = list(counts)
    if not counts:
        raise Invalid("No counts given.", code="no_counts")
    dates = [c.date for c in counts]
    if len(set(dates)) != len(dates):
        raise Invalid("A date appears twice.", code="duplicate_date", fields={"date": "repeated"})
    today = timezone.now().astimezone(ZoneInfo(workspace.time_zone)).date()
    for c in counts:
        if c.date > today:
            raise Invalid(
                f"{c.date} is in the future.", code="future_date", fields={"date": "in the future"}
            )
    with transaction.atomic():
        stored = [
            SubscriberCount.objects.update_or_create(
                workspace=workspace, date=c.date, defaults={"active": c.active, "new": c.new}
            )[0]
            for c in counts
        ]
    return stored
