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
    GRAIN_KEEPS,
    ROLLUP_DIMENSIONS,
    ROLLUP_MEASURES,
    ROLLUP_SHARDS,
    SUMMED_VALUE,
    RollupGrain,
    RollupPeriod,
    RollupSummary,
    SessionRollup,
    SubscriberCount,
    calendar_period_start,
)
from analytics.selectors.grouped import raw_grouped
from config.errors import Conflict, Invalid
from workspaces.models import Workspace

if TYPE_CHECKING:
    from surveys.models import CancelSession
    from surveys.services import SessionSnapshot

logger = logging.getLogger(__name__)

# (period, grain, day, survey_id, plan, locale, reason_code, category_code, offer_id,
#  outcome, shard)
RollupKey = tuple[str, str, date, int, str, str, str, str, int, str, int]
# sessions, mrr_cents, completed_seconds, kept, kept_mrr_cents (ROLLUP_MEASURES)
Measures = tuple[int, ...]
NO_MEASURES: Measures = (0,) * len(ROLLUP_MEASURES)

DECIDED = ("saved", "cancelled")
# Days this recent (in the workspace's time zone) are never summarised: the flow
# writes their day rows only, without looking at how far the summary goes.
LIVE_DAYS = 2


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
    kept = int(state.outcome == "saved" and state.kept)
    key: RollupKey = (
        RollupPeriod.DAY,
        RollupGrain.DETAIL,
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
    return key, (1, session.mrr_cents, seconds, kept, kept * session.mrr_cents)


def rollup_keys(day_key: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """A day's detail key (first) and the summary keys it also counts under: its
    week's and month's, and the same three at every coarser grain (summed over
    survey, plan and locale, over two of them or over one). Works with or without
    the trailing shard."""
    _period, _grain, day, survey, plan, locale, *rest = day_key
    values = {"survey_id": survey, "plan": plan, "locale": locale}
    keys = []
    for period in (RollupPeriod.DAY, RollupPeriod.WEEK, RollupPeriod.MONTH):
        start = calendar_period_start(day, period)
        for grain, keeps in GRAIN_KEEPS.items():
            kept = (values[d] if d in keeps else SUMMED_VALUE[d] for d in values)
            keys.append((str(period), str(grain), start, *kept, *rest))
    return keys


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
    none when nothing the rollups count has changed. A change to a session that
    started before the last ``LIVE_DAYS`` days (a re-label, a late cancel) first
    locks the workspace's summary and, if the day is summarised, moves the
    summary rows too (in the same upsert). Needs ``session.workspace`` loaded
    (the flow has it already)."""
    workspace = session.workspace
    deltas: dict[RollupKey, Measures] = {}
    new_key, new_values = _contribution(session, after, workspace=workspace)
    keys_of: Any = lambda key: [key]  # noqa: E731
    day = new_key[2]
    if day < _workspace_today(workspace) - timedelta(days=LIVE_DAYS):
        until = _summary_until(workspace.pk, lock=True)
        if until is not None and day < until:
            keys_of = rollup_keys
    for key in keys_of(new_key):
        deltas[key] = new_values
    if before is not None:
        old_key, old_values = _contribution(session, before, workspace=workspace)
        for key in keys_of(old_key):
            have = deltas.get(key, NO_MEASURES)
            deltas[key] = tuple(h - o for h, o in zip(have, old_values, strict=True))
    _upsert(session.workspace_id, deltas)


def _workspace_today(workspace: Workspace) -> date:
    return timezone.now().astimezone(ZoneInfo(workspace.time_zone)).date()


def _summary_until(workspace_id: int, *, lock: bool = False) -> date | None:
    """How far the workspace's summary rows go; with ``lock``, the summary row is
    share-locked until the transaction ends (on PostgreSQL), so it cannot move."""
    if lock and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT until FROM {RollupSummary._meta.db_table} "
                "WHERE workspace_id = %s FOR SHARE",
                [workspace_id],
            )
            row = cursor.fetchone()
        return row[0] if row else None
    found = RollupSummary.objects.filter(workspace_id=workspace_id)
    return found.values_list("until", flat=True).first()


# --- Rebuild and compaction -------------------------------------------------------------

# Without the shard: what a recount and the stored rows are compared on.
FigureKey = tuple[str, str, date, int, str, str, str, str, int, str]
KEY_LENGTH = len(ROLLUP_DIMENSIONS) - 1  # without the shard


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
    totals: dict[FigureKey, list[int]] = defaultdict(lambda: list(NO_MEASURES))
    rows = SessionRollup.objects.filter(workspace=workspace).values_list(
        *ROLLUP_DIMENSIONS[:-1], *ROLLUP_MEASURES
    )
    for row in rows.iterator(chunk_size=5000):
        key = tuple(row[:KEY_LENGTH])
        total = totals[key]
        for i, value in enumerate(row[KEY_LENGTH:]):
            total[i] += value
    return {k: tuple(v) for k, v in totals.items() if any(v)}


def _recount(workspace: Workspace, until: date | None) -> dict[FigureKey, Measures]:
    """The figures every stored row should hold: the raw sessions counted per day
    and combination, and the days before ``until`` added up into the summaries."""
    dimensions = ROLLUP_DIMENSIONS[2:-1]  # day .. outcome
    totals: dict[FigureKey, list[int]] = defaultdict(lambda: list(NO_MEASURES))
    for row in raw_grouped(workspace=workspace, filters=None, group_by=dimensions):
        day_key = (str(RollupPeriod.DAY), str(RollupGrain.DETAIL), *(row[d] for d in dimensions))
        summarised = until is not None and row["day"] < until
        for key in rollup_keys(day_key) if summarised else [day_key]:
            total = totals[key]
            for i, measure in enumerate(ROLLUP_MEASURES):
                total[i] += row[measure]
    return {k: tuple(v) for k, v in totals.items()}


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
        until = _summary_until(workspace.pk)
        counted = _recount(workspace, until)
        stored = _stored_figures(workspace)
    report.keys_checked = len(set(counted) | set(stored))
    report.sessions_counted = sum(
        m[0] for k, m in counted.items() if k[0] == RollupPeriod.DAY and k[1] == RollupGrain.DETAIL
    )
    deltas: dict[RollupKey, Measures] = {}
    for key in sorted(set(counted) | set(stored)):
        want = counted.get(key, NO_MEASURES)
        have = stored.get(key, NO_MEASURES)
        if want != have:
            report.differences.append((key, want, have))
            deltas[(*key, 0)] = tuple(w - h for w, h in zip(want, have, strict=True))
    if apply and deltas:
        items = list(deltas.items())
        for start in range(0, len(items), 500):
            with transaction.atomic():
                if _summary_until(workspace.pk, lock=True) != until:
                    raise Conflict(
                        "The summary moved on while the rollups were recounted: run it again.",
                        code="summary_moved",
                    )
                _upsert(workspace.pk, dict(items[start : start + 500]))
    return report


def rollups_summarize(*, workspace: Workspace, until: date) -> int:
    """Add the day rows of the days not summarised yet, up to (not including)
    ``until``, into the week and month rows and the coarser grains; returns the
    keys written.

    Holds the workspace's summary locked meanwhile, so a late flow change to one
    of those days waits and then sees the summary it has to move too. Stops a day
    short of the ``LIVE_DAYS`` the flow writes without looking (clocks differ)."""
    until = min(until, _workspace_today(workspace) - timedelta(days=LIVE_DAYS + 1))
    RollupSummary.objects.get_or_create(workspace=workspace)
    with transaction.atomic():
        summary = RollupSummary.objects.select_for_update().get(workspace=workspace)
        since = summary.until
        if since is not None and until <= since:
            return 0
        rows = SessionRollup.objects.filter(
            workspace=workspace,
            period=RollupPeriod.DAY,
            grain=RollupGrain.DETAIL,
            day__lt=until,
        )
        if since is not None:
            rows = rows.filter(day__gte=since)
        sums: dict[RollupKey, list[int]] = defaultdict(lambda: list(NO_MEASURES))
        for row in rows.values_list(*ROLLUP_DIMENSIONS[:-1], *ROLLUP_MEASURES).iterator(
            chunk_size=5000
        ):
            for key in rollup_keys((*row[:KEY_LENGTH], 0))[1:]:
                total = sums[key]
                for i, value in enumerate(row[KEY_LENGTH:]):
                    total[i] += value
        items = [(k, tuple(v)) for k, v in sums.items()]
        for start in range(0, len(items), 500):
            _upsert(workspace.pk, dict(items[start : start + 500]))
        summary.until = until
        summary.save(update_fields=["until"])
    return len(items)


def rollups_compact(*, settled_before: date | None = None, batch_days: int = 7) -> int:
    """Fold the shards of days that no longer change often into shard 0, and drop
    rows that count nothing. Returns the number of rows removed.

    Sessions are decided within a day or two of starting (abandoned after
    SESSION_ABANDON_AFTER), so by default days older than three are settled. A late
    change (a re-label) still works afterwards: it just writes a shard row again.
    Week and month rows are folded by their first day, so those of the current week
    or month are folded too and simply get shard rows again from the next change."""
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
                lambda: defaultdict(lambda: list(NO_MEASURES))
            )
            for row in rows:
                key: RollupKey = (*row[2 : 2 + KEY_LENGTH], 0)
                total = by_workspace[row[1]][key]
                for i, value in enumerate(row[2 + KEY_LENGTH :]):
                    total[i] += value
            for workspace_id, sums in by_workspace.items():
                _upsert(workspace_id, {k: tuple(v) for k, v in sums.items()})
            SessionRollup.objects.filter(pk__in=[row[0] for row in rows]).delete()
            removed += len(rows)
    with transaction.atomic():
        empty, _ = SessionRollup.objects.filter(
            day__lt=settled_before, **{m: 0 for m in ROLLUP_MEASURES}
        ).delete()
    for workspace in Workspace.objects.filter(
        pk__in=SessionRollup.objects.filter(day__lt=settled_before).values("workspace_id")
    ):
        rollups_summarize(workspace=workspace, until=settled_before)
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
