"""Grouped sums, from the rollups or recounted from the raw sessions: what every
figure is worked out from (see the package's docstring). From the rollups, a
period is covered by whole months and weeks and single days (``rollup_cover``);
several groupings of the same rows are one GROUPING SETS statement on PostgreSQL
(``rollup_grouped_sets``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date, timedelta
from operator import itemgetter
from typing import Any, Literal
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    F,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, TruncDate

from analytics.models import (
    GRAIN_KEEPS,
    ROLLUP_MEASURES,
    RollupGrain,
    RollupPeriod,
    RollupSummary,
    SessionRollup,
    calendar_period_start,
    grain_for,
)
from analytics.selectors.filters import AnalyticsFilters, filters_bounds
from surveys.models import CancelSession
from workspaces.models import Workspace

Source = Literal["rollup", "raw"]


class EpochSeconds(Func):
    """Whole seconds since the epoch, rounded down (as ``epoch_seconds`` in Python)."""

    output_field = IntegerField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="FLOOR(EXTRACT(EPOCH FROM %(expressions)s))::bigint"
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="CAST(strftime('%%%%s', %(expressions)s) AS INTEGER)"
        )


def _raw_dimension(name: str, workspace: Workspace) -> Any:
    if name == "day":
        return TruncDate("created_at", tzinfo=ZoneInfo(workspace.time_zone))
    if name == "locale":
        return Case(When(locale="", then=Value(workspace.default_locale)), default=F("locale"))
    if name == "reason_code":
        return Coalesce(F("response__reason_code"), Value(""))
    if name == "category_code":
        return Coalesce(F("response__category_id"), Value(""))
    if name == "offer_id":
        return Coalesce(F("offer_id"), Value(0))
    return F(name)


def raw_grouped(
    *,
    workspace: Workspace,
    filters: AnalyticsFilters | None,
    group_by: Sequence[str],
    where: Q | None = None,
) -> Iterator[dict[str, Any]]:
    """The sums recounted from raw sessions (what rollups must always equal)."""
    sessions = CancelSession.objects.filter(workspace=workspace)
    needed = set(group_by) | {"locale"} if filters and filters.locale else set(group_by)
    if where is not None:
        needed |= {"reason_code", "offer_id", "outcome", "category_code"}
    aliases = {name: f"d_{name}" for name in needed}
    sessions = sessions.annotate(
        **{aliases[name]: _raw_dimension(name, workspace) for name in needed}
    )
    if filters is not None:
        start, end = filters_bounds(workspace, filters)
        sessions = sessions.filter(created_at__gte=start, created_at__lt=end)
        if filters.plan:
            sessions = sessions.filter(plan=filters.plan)
        if filters.survey_id is not None:
            sessions = sessions.filter(survey_id=filters.survey_id)
        if filters.locale:
            sessions = sessions.filter(**{aliases["locale"]: filters.locale})
    if where is not None:
        sessions = sessions.filter(_prefix(where, aliases))
    decided = Q(outcome__in=("saved", "cancelled"), completed_at__isnull=False)
    kept = Q(outcome="saved", kept=True)
    rows = (
        sessions.order_by()
        .values(*[aliases[name] for name in group_by])
        .annotate(
            # First: after the ``mrr_cents`` sum below, that name means the sum.
            kept_sessions=Count("pk", filter=kept),
            kept_mrr=Coalesce(Sum("mrr_cents", filter=kept), 0),
            sessions=Count("pk"),
            mrr_cents=Coalesce(Sum("mrr_cents"), 0),
            completed_seconds=Coalesce(
                Sum(
                    Case(
                        When(
                            decided,
                            then=EpochSeconds("completed_at") - EpochSeconds("created_at"),
                        ),
                        default=Value(0),
                        output_field=IntegerField(),
                    )
                ),
                0,
            ),
        )
    )
    for row in rows.iterator(chunk_size=5000):
        yield {
            **{name: row[aliases[name]] for name in group_by},
            "sessions": row["sessions"],
            "mrr_cents": int(row["mrr_cents"]),
            "completed_seconds": int(row["completed_seconds"]),
            "kept": row["kept_sessions"],
            "kept_mrr_cents": int(row["kept_mrr"]),
        }


def _prefix(where: Q, aliases: dict[str, str]) -> Q:
    """Rewrite a Q over dimension names to the raw query's aliases."""
    rewritten = Q()
    rewritten.connector, rewritten.negated = where.connector, where.negated
    for child in where.children:
        if isinstance(child, Q):
            rewritten.children.append(_prefix(child, aliases))
        else:
            lookup, value = child  # type: ignore[misc]
            name, _, rest = lookup.partition("__")
            new = aliases.get(name, name) + (f"__{rest}" if rest else "")
            rewritten.children.append((new, value))
    return rewritten


FILTER_DIMENSIONS = frozenset(GRAIN_KEEPS[RollupGrain.DETAIL])


def _next_start(start: date, period: str) -> date:
    if period == RollupPeriod.WEEK:
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def rollup_cover(
    date_from: date, date_to: date, periods: Iterable[str]
) -> list[tuple[str, date, date]]:
    """Split the days ``date_from``..``date_to`` into whole months, then whole weeks
    (of the periods allowed), then single days: ``(period, first start, last start)``.
    Every day is in exactly one of them, so their rows sum to the period's figures."""
    segments = [(date_from, date_to)]
    cover: list[tuple[str, date, date]] = []
    for period in (RollupPeriod.MONTH, RollupPeriod.WEEK):
        if period not in periods:
            continue
        rest = []
        for start, end in segments:
            first = (
                start
                if calendar_period_start(start, period) == start
                else _next_start(calendar_period_start(start, period), period)
            )
            # After the last whole one:
            stop = calendar_period_start(end + timedelta(days=1), period)
            if first >= stop:
                rest.append((start, end))
                continue
            cover.append((str(period), first, stop - timedelta(days=1)))
            if start < first:
                rest.append((start, first - timedelta(days=1)))
            if stop <= end:
                rest.append((stop, end))
        segments = rest
    cover += [(str(RollupPeriod.DAY), start, end) for start, end in segments]
    return cover


def _q_names(where: Q) -> set[str]:
    names: set[str] = set()
    for child in where.children:
        if isinstance(child, Q):
            names |= _q_names(child)
        else:
            names.add(child[0].split("__", 1)[0])  # type: ignore[index]
    return names


def _rollup_rows(
    *,
    workspace: Workspace,
    filters: AnalyticsFilters,
    named: set[str],
    periods: set[str],
) -> QuerySet[SessionRollup] | None:
    """The rollup rows whose sums are the figures within ``filters``, for a read that
    groups or filters by ``named`` dimensions; None when there are none. The
    summarised days are covered by the ``periods`` allowed (see ``rollup_cover``),
    from the coarsest grain that keeps apart what the read needs (of survey, plan
    and locale); the days since, by the day rows in detail."""
    grain = grain_for(filters.narrowed_by() | (named & FILTER_DIMENSIONS))
    until = (
        RollupSummary.objects.filter(workspace=workspace).values_list("until", flat=True).first()
    )
    in_period = Q()
    recent_from = filters.date_from
    if until is not None and filters.date_from < until:
        last = min(filters.date_to, until - timedelta(days=1))
        for period, first, last_start in rollup_cover(filters.date_from, last, periods):
            in_period |= Q(period=period, grain=grain, day__gte=first, day__lte=last_start)
        recent_from = until
    if recent_from <= filters.date_to:
        in_period |= Q(
            period=RollupPeriod.DAY,
            grain=RollupGrain.DETAIL,
            day__gte=recent_from,
            day__lte=filters.date_to,
        )
    if not in_period:
        return None
    rows: QuerySet[SessionRollup] = SessionRollup.objects.filter(in_period, workspace=workspace)
    if filters.plan:
        rows = rows.filter(plan=filters.plan)
    if filters.survey_id is not None:
        rows = rows.filter(survey_id=filters.survey_id)
    if filters.locale:
        rows = rows.filter(locale=filters.locale)
    return rows.order_by()


def _periods_for(group_by: Iterable[str], bucket: str) -> set[str]:
    if "day" in group_by:
        return {RollupPeriod.DAY, bucket}
    return {RollupPeriod.DAY, RollupPeriod.WEEK, RollupPeriod.MONTH}


def rollup_grouped(
    *,
    workspace: Workspace,
    filters: AnalyticsFilters,
    group_by: Sequence[str],
    where: Q | None = None,
    bucket: str = "day",
    measures: Sequence[str] = ROLLUP_MEASURES,
) -> list[dict[str, Any]]:
    """Sums from the rollups (of ``measures`` only: a caller needing only counts
    saves summing and converting the rest). The summarised days of the period (see
    ``analytics.models``) are covered by whole months and weeks where they can be
    and by days at the edges, from the coarsest grain that keeps apart what the
    call filters or groups by (of survey, plan and locale); the days since, by the
    day rows in detail.
    Grouping by ``day`` gives exact days, or with ``bucket`` "week" or "month" may
    give the first day of a whole week or month instead (for callers adding days
    up into those anyway)."""
    named = set(group_by) | (_q_names(where) if where is not None else set())
    rows = _rollup_rows(
        workspace=workspace,
        filters=filters,
        named=named,
        periods=_periods_for(group_by, bucket),
    )
    if rows is None:
        return []
    if where is not None:
        rows = rows.filter(where)
    # SUM of a bigint is a numeric in PostgreSQL (a Decimal here): cast back, so
    # thousands of grouped rows cost no Decimal conversions.
    # Groups that add up to nothing (a re-label moves a session out of a row) are
    # left out by the database (HAVING), not looked at one by one here.
    result = (
        rows.values(*group_by)
        .annotate(**{m: Cast(Sum(m), BigIntegerField()) for m in measures})
        .exclude(**{m: 0 for m in measures})
    )
    return list(result)


def rollup_grouped_sets(
    *,
    workspace: Workspace,
    filters: AnalyticsFilters,
    sets: Sequence[Sequence[str]],
    periods: set[str],
    measures: Sequence[str],
) -> list[list[tuple[Any, ...]]]:
    """``rollup_grouped`` for each of ``sets`` in one statement that reads the rows
    once (GROUPING SETS, PostgreSQL only; see ``grouped_sets``)."""
    dimensions = list(dict.fromkeys(name for group_by in sets for name in group_by))
    rows = _rollup_rows(
        workspace=workspace, filters=filters, named=set(dimensions), periods=periods
    )
    if rows is None:
        return [[] for _ in sets]
    inner, params = rows.values_list(*dimensions, *measures).query.sql_with_params()
    qn = connection.ops.quote_name
    # GROUPING(a, b, …) has a bit set (the last dimension the lowest) for each
    # dimension a set leaves out: it tells which set a row belongs to.
    masks = {
        sum(1 << (len(dimensions) - 1 - i) for i, d in enumerate(dimensions) if d not in s): n
        for n, s in enumerate(sets)
    }
    columns = ", ".join(qn(d) for d in dimensions)
    sums = ", ".join(f"SUM({qn(m)})::bigint" for m in measures)
    grouping = ", ".join("(" + ", ".join(qn(d) for d in s) + ")" for s in sets)
    nothing = " AND ".join(f"SUM({qn(m)}) = 0" for m in measures)
    sql = (
        f"SELECT GROUPING({columns}), {columns}, {sums} FROM ({inner}) AS r "
        f"GROUP BY GROUPING SETS ({grouping}) HAVING NOT ({nothing})"
    )
    found: list[list[tuple[Any, ...]]] = [[] for _ in sets]
    measured = range(1 + len(dimensions), 1 + len(dimensions) + len(measures))
    picks = [itemgetter(*(1 + dimensions.index(d) for d in s), *measured) for s in sets]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row in cursor.fetchall():
            n = masks[row[0]]
            found[n].append(picks[n](row))
    return found


def grouped_sets(
    *,
    workspace: Workspace,
    filters: AnalyticsFilters,
    sets: Sequence[Sequence[str]],
    source: Source = "rollup",
    bucket: str = "day",
    measures: Sequence[str] = ROLLUP_MEASURES,
    one_statement: bool | None = None,
) -> list[list[tuple[Any, ...]]]:
    """``grouped`` several ways over the same rows: for each of ``sets`` (dimension
    names) a list of ``(*dimensions, *measures)`` tuples, groups summing to nothing
    left out. Either every set groups by ``day`` or none does.

    From the rollups on PostgreSQL it is one statement that reads the rows once
    (``rollup_grouped_sets``); otherwise, or with ``one_statement=False``, one
    ``grouped`` read per set."""
    if not all(sets) or len({frozenset(group_by) for group_by in sets}) != len(sets):
        raise ValueError("Each set names at least one dimension, and no two are the same.")
    allowed = {frozenset(_periods_for(group_by, bucket)) for group_by in sets}
    if len(allowed) != 1:
        raise ValueError("Either every set groups by 'day' or none does.")
    if one_statement is None:
        one_statement = connection.vendor == "postgresql"
    if source == "rollup" and one_statement:
        return rollup_grouped_sets(
            workspace=workspace,
            filters=filters,
            sets=sets,
            periods=set(allowed.pop()),
            measures=measures,
        )
    return [
        [
            tuple(row[name] for name in (*group_by, *measures))
            for row in grouped(
                workspace=workspace,
                filters=filters,
                group_by=group_by,
                source=source,
                bucket=bucket,
                measures=measures,
            )
        ]
        for group_by in sets
    ]


def grouped(
    *,
    workspace: Workspace,
    filters: AnalyticsFilters,
    group_by: Sequence[str],
    where: Q | None = None,
    source: Source = "rollup",
    bucket: str = "day",
    measures: Sequence[str] = ROLLUP_MEASURES,
) -> list[dict[str, Any]]:
    if source == "raw":
        return list(
            raw_grouped(workspace=workspace, filters=filters, group_by=group_by, where=where)
        )
    return rollup_grouped(
        workspace=workspace,
        filters=filters,
        group_by=group_by,
        where=where,
        bucket=bucket,
        measures=measures,
    )
