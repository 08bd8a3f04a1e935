"""Reads for analytics: the figures of the dashboard, the API and the CSV export.

Every figure is worked out from ``grouped()`` (or ``grouped_sets()``, several
groupings of the same rows in one read): sessions, MRR and completion seconds
summed over the dimensions asked for, within the filters. It reads the
rollups (``source="rollup"``, the default) or recounts the raw sessions
(``source="raw"``, what the benchmark compares against and tests check with);
both give the same numbers.

Definitions (also in the README):
- started: sessions opened; answered: a reason given; offered: an offer shown;
  saved / cancelled / abandoned: the outcomes; open: not decided yet.
- save rate: saved / (saved + cancelled + abandoned), of sessions with an outcome.
- offer save rate: accepted / shown.
- MRR saved: the MRR of saved sessions; MRR lost: of cancelled (active churn) and
  of abandoned (passive churn) sessions.
- discount cost: what the accepted offers give away (``offer_cost_cents``).
- churn rate = lost / S * 100 and CRR = (E - N) / S * 100 from the host's
  subscriber counts, where S is active at the end of the day before the period,
  E at its end, N new in it, and lost = S + N - E.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from operator import itemgetter
from typing import Any, Literal
from zoneinfo import ZoneInfo

from django.conf import settings
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
from django.utils import timezone

from analytics.models import (
    GRAIN_KEEPS,
    ROLLUP_MEASURES,
    RollupGrain,
    RollupPeriod,
    RollupSummary,
    SessionRollup,
    SubscriberCount,
    grain_for,
    period_start,
)
from config.errors import Invalid
from config.limits import BIGINT_MAX, EARLIEST_DATE, LATEST_DATE
from surveys.locales import localized
from surveys.models import CancelSession, Reason, Response
from surveys.search import words_matching
from surveys.taxonomy import CATEGORIES, category_label
from workspaces.models import Workspace

Source = Literal["rollup", "raw"]
MAX_RANGE_DAYS = 3 * 366
OUTCOMES = ("saved", "cancelled", "abandoned")


# --- Filters ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AnalyticsFilters:
    """What every figure is restricted to. Dates are inclusive, in the workspace's
    time zone; a session counts under the day it started."""

    date_from: date
    date_to: date
    plan: str = ""
    survey_id: int | None = None
    locale: str = ""

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    def narrowed_by(self) -> set[str]:
        """The rollup dimensions these filters restrict (of survey_id, plan, locale)."""
        narrowed = set()
        if self.survey_id is not None:
            narrowed.add("survey_id")
        if self.plan:
            narrowed.add("plan")
        if self.locale:
            narrowed.add("locale")
        return narrowed

    def previous(self) -> AnalyticsFilters:
        """The period of the same length just before this one."""
        return replace(
            self,
            date_from=self.date_from - timedelta(days=self.days),
            date_to=self.date_from - timedelta(days=1),
        )

    def as_params(self) -> dict[str, str]:
        params = {"from": self.date_from.isoformat(), "to": self.date_to.isoformat()}
        if self.plan:
            params["plan"] = self.plan
        if self.survey_id is not None:
            params["survey"] = str(self.survey_id)
        if self.locale:
            params["locale"] = self.locale
        return params


def workspace_today(workspace: Workspace, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(ZoneInfo(workspace.time_zone)).date()


# Dates a filter may name: the period before (as long as the range) and the day
# after its end must still be dates Python and the database can hold.
MIN_DATE = EARLIEST_DATE
MAX_DATE = LATEST_DATE


def _parse_date(value: str, name: str) -> date:
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(
            f"{name!r} must be a date like 2026-01-31, not {value!r}.",
            code="invalid_date",
            fields={name: "a date as YYYY-MM-DD"},
        ) from None
    if not MIN_DATE <= day <= MAX_DATE:
        raise Invalid(
            f"{name!r} must be between {MIN_DATE} and {MAX_DATE}, not {value!r}.",
            code="invalid_date",
            fields={name: f"a date from {MIN_DATE} to {MAX_DATE}"},
        )
    return day


def filters_parse(
    *, workspace: Workspace, params: Mapping[str, str], now: datetime | None = None
) -> AnalyticsFilters:
    """Read filters from query parameters (``from``, ``to``, ``plan``, ``survey``,
    ``locale``). Without dates: the last 30 days, today included."""
    today = workspace_today(workspace, now)
    date_to = _parse_date(params["to"], "to") if params.get("to") else today
    date_from = (
        _parse_date(params["from"], "from") if params.get("from") else date_to - timedelta(days=29)
    )
    if date_from > date_to:
        raise Invalid(
            "'from' is after 'to'.", code="invalid_range", fields={"from": "on or before 'to'"}
        )
    if (date_to - date_from).days + 1 > MAX_RANGE_DAYS:
        raise Invalid(
            f"The range is longer than {MAX_RANGE_DAYS} days.",
            code="range_too_long",
            fields={"from": f"at most {MAX_RANGE_DAYS} days before 'to'"},
        )
    survey_id: int | None = None
    if params.get("survey"):
        try:
            survey_id = int(params["survey"])
            if not 1 <= survey_id <= BIGINT_MAX:
                raise ValueError(survey_id)
        except ValueError:
            raise Invalid(
                "'survey' must be a survey id (a number).",
                code="invalid_survey",
                fields={"survey": "a number"},
            ) from None
    locale = (params.get("locale") or "").strip()
    known = [code for code, _name in settings.LANGUAGES]
    if locale and locale not in known:
        raise Invalid(
            f"Unknown locale {locale!r}.",
            code="invalid_locale",
            fields={"locale": f"one of {', '.join(known)}"},
        )
    return AnalyticsFilters(
        date_from=date_from,
        date_to=date_to,
        plan=(params.get("plan") or "").strip()[:100],
        survey_id=survey_id,
        locale=locale,
    )


def filters_bounds(workspace: Workspace, filters: AnalyticsFilters) -> tuple[datetime, datetime]:
    """The period as [start, end) instants in the workspace's time zone."""
    zone = ZoneInfo(workspace.time_zone)
    start = datetime.combine(filters.date_from, time.min, tzinfo=zone)
    end = datetime.combine(filters.date_to + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


# --- Grouped sums, from rollups or raw sessions -----------------------------------------


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
    rows = (
        sessions.order_by()
        .values(*[aliases[name] for name in group_by])
        .annotate(
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
                if period_start(start, period) == start
                else _next_start(period_start(start, period), period)
            )
            stop = period_start(end + timedelta(days=1), period)  # after the last whole one
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


# --- Figures ---------------------------------------------------------------------------


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _change(now: int | float | None, before: int | float | None) -> float | None:
    """Relative change against the previous period (0.25 = +25%); None without a base."""
    if now is None or before in (None, 0):
        return None
    return round((now - before) / before, 4)


def _offer_costs(workspace: Workspace, saved_by_offer: dict[int, tuple[int, int]]) -> int:
    from offers.selectors import offer_cost_cents, offers_by_id

    offers = offers_by_id(workspace=workspace, ids=list(saved_by_offer))
    return sum(
        offer_cost_cents(offer=offers[oid], saved_sessions=n, saved_mrr_cents=mrr)
        for oid, (n, mrr) in saved_by_offer.items()
        if oid in offers
    )


def funnel(
    *, workspace: Workspace, filters: AnalyticsFilters, source: Source = "rollup"
) -> dict[str, Any]:
    """The funnel and the headline figures of a period."""
    rows = grouped(
        workspace=workspace,
        filters=filters,
        group_by=["reason_code", "offer_id", "outcome"],
        source=source,
    )
    counts: dict[str, int] = defaultdict(int)
    mrr: dict[str, int] = defaultdict(int)
    saved_by_offer: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    seconds = 0
    for row in rows:
        n = row["sessions"]
        counts["started"] += n
        if row["reason_code"]:
            counts["answered"] += n
        if row["offer_id"]:
            counts["offered"] += n
        outcome = row["outcome"] or "open"
        counts[outcome] += n
        mrr[outcome] += row["mrr_cents"]
        seconds += row["completed_seconds"]
        if outcome == "saved" and row["offer_id"]:
            saved_by_offer[row["offer_id"]][0] += n
            saved_by_offer[row["offer_id"]][1] += row["mrr_cents"]
    finished = counts["saved"] + counts["cancelled"] + counts["abandoned"]
    decided = counts["saved"] + counts["cancelled"]
    steps = ["started", "answered", "offered", "saved", "cancelled", "abandoned"]
    return {
        "from": filters.date_from,
        "to": filters.date_to,
        "started": counts["started"],
        "answered": counts["answered"],
        "offered": counts["offered"],
        "saved": counts["saved"],
        "cancelled": counts["cancelled"],
        "abandoned": counts["abandoned"],
        "open": counts["open"],
        "steps": [{"step": s, "sessions": counts[s]} for s in steps],
        "conversion": {
            "answered_of_started": _rate(counts["answered"], counts["started"]),
            "offered_of_answered": _rate(counts["offered"], counts["answered"]),
            "saved_of_offered": _rate(counts["saved"], counts["offered"]),
        },
        "save_rate": _rate(counts["saved"], finished),
        "mrr_saved_cents": mrr["saved"],
        "mrr_lost_cents": mrr["cancelled"],
        "mrr_at_risk_abandoned_cents": mrr["abandoned"],
        "discount_cost_cents": _offer_costs(
            workspace, {k: (v[0], v[1]) for k, v in saved_by_offer.items()}
        ),
        "active_churn": counts["cancelled"],
        "passive_churn": counts["abandoned"],
        "avg_seconds_to_complete": round(seconds / decided, 1) if decided else None,
    }


HEADLINE_FIGURES = (
    "started",
    "saved",
    "cancelled",
    "abandoned",
    "save_rate",
    "mrr_saved_cents",
    "mrr_lost_cents",
    "avg_seconds_to_complete",
)


def headline(
    *, workspace: Workspace, filters: AnalyticsFilters, source: Source = "rollup"
) -> dict[str, Any]:
    """The funnel, with each headline figure's change against the previous period."""
    current = funnel(workspace=workspace, filters=filters, source=source)
    before = funnel(workspace=workspace, filters=filters.previous(), source=source)
    current["previous"] = {name: before[name] for name in HEADLINE_FIGURES}
    current["change"] = {name: _change(current[name], before[name]) for name in HEADLINE_FIGURES}
    current["churn"] = churn_rates(workspace=workspace, filters=filters)
    return current


def _category_label(code: str, locale: str) -> str:
    from django.utils import translation

    with translation.override(locale):
        return str(category_label(code))


def _reason_labels(workspace: Workspace, locale: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    for code, label in (
        Reason.objects.filter(survey__workspace=workspace)
        .order_by("survey__is_default", "id")
        .values_list("code", "label")
    ):
        labels[code] = localized(label, locale) or code
    return labels


def reasons(
    *,
    workspace: Workspace,
    filters: AnalyticsFilters,
    locale: str = "en",
    source: Source = "rollup",
) -> dict[str, Any]:
    """Answers by category and by reason: count, share of answers, how many were
    saved, and the change against the previous period."""
    answered = ~Q(reason_code="")
    rows = grouped(
        workspace=workspace,
        filters=filters,
        group_by=["category_code", "reason_code", "outcome"],
        where=answered,
        source=source,
    )
    before_rows = grouped(
        workspace=workspace,
        filters=filters.previous(),
        group_by=["category_code", "reason_code"],
        where=answered,
        source=source,
    )
    labels = _reason_labels(workspace, locale)
    total = sum(r["sessions"] for r in rows)
    total_before = sum(r["sessions"] for r in before_rows)
    cats: dict[str, dict[str, Any]] = {}
    for row in rows:
        cat = cats.setdefault(
            row["category_code"],
            {"sessions": 0, "saved": 0, "mrr_lost_cents": 0, "reasons": {}},
        )
        reason = cat["reasons"].setdefault(
            row["reason_code"], {"sessions": 0, "saved": 0, "mrr_lost_cents": 0}
        )
        for target in (cat, reason):
            target["sessions"] += row["sessions"]
            if row["outcome"] == "saved":
                target["saved"] += row["sessions"]
            if row["outcome"] == "cancelled":
                target["mrr_lost_cents"] += row["mrr_cents"]
    before_cat: dict[str, int] = defaultdict(int)
    before_reason: dict[tuple[str, str], int] = defaultdict(int)
    for row in before_rows:
        before_cat[row["category_code"]] += row["sessions"]
        before_reason[(row["category_code"], row["reason_code"])] += row["sessions"]

    def share(n: int, whole: int) -> float | None:
        return _rate(n, whole)

    categories = []
    for code, cat in cats.items():
        reason_list = [
            {
                "reason": rcode,
                "label": labels.get(rcode, rcode),
                "sessions": r["sessions"],
                "share": share(r["sessions"], total),
                "saved": r["saved"],
                "mrr_lost_cents": r["mrr_lost_cents"],
                "previous": before_reason.get((code, rcode), 0),
                "share_change": _share_change(
                    r["sessions"], total, before_reason.get((code, rcode), 0), total_before
                ),
            }
            for rcode, r in cat["reasons"].items()
        ]
        reason_list.sort(key=lambda r: (-r["sessions"], r["reason"]))
        categories.append(
            {
                "category": code,
                "label": _category_label(code, locale),
                "sessions": cat["sessions"],
                "share": share(cat["sessions"], total),
                "saved": cat["saved"],
                "save_rate": _rate(cat["saved"], cat["sessions"]),
                "mrr_lost_cents": cat["mrr_lost_cents"],
                "previous": before_cat.get(code, 0),
                "change": _change(cat["sessions"], before_cat.get(code, 0)),
                "share_change": _share_change(
                    cat["sessions"], total, before_cat.get(code, 0), total_before
                ),
                "reasons": reason_list,
            }
        )
    categories.sort(key=lambda c: (-c["sessions"], CATEGORIES.get(c["category"], (99, ""))[0]))
    return {
        "from": filters.date_from,
        "to": filters.date_to,
        "answered": total,
        "previous_answered": total_before,
        "categories": categories,
    }


def _share_change(n: int, total: int, before: int, total_before: int) -> float | None:
    """Change in share, in percentage points (0.05 = up five points)."""
    if not total or not total_before:
        return None
    return round(n / total - before / total_before, 4)


def _periods(filters: AnalyticsFilters, interval: str) -> list[date]:
    starts: list[date] = []
    day = filters.date_from
    while day <= filters.date_to:
        start = period_start(day, interval)
        if not starts or starts[-1] != start:
            starts.append(start)
        day += timedelta(days=1)
    return starts


def trends(
    *,
    workspace: Workspace,
    filters: AnalyticsFilters,
    interval: str = "week",
    source: Source = "rollup",
) -> dict[str, Any]:
    """Per week (Monday first), month or day: sessions, outcomes and save rate, and
    answers per category with their share of the period's answers."""
    if interval not in ("day", "week", "month"):
        raise Invalid(
            "'interval' must be day, week or month.",
            code="invalid_interval",
            fields={"interval": "day, week or month"},
        )

    # Grouped by outcome and by category (one read on PostgreSQL, see
    # ``rollup_grouped_sets``) rather than by both: a daily trend over months is a
    # few thousand groups less to sum and to read.
    by_outcome, by_category = grouped_sets(
        workspace=workspace,
        filters=filters,
        sets=[("day", "outcome"), ("day", "category_code")],
        source=source,
        bucket=interval,
        measures=("sessions",),
    )
    starts = _periods(filters, interval)
    # Per period: started, each outcome's sessions (OUTCOMES' order), answered;
    # and the answers per category.
    totals: dict[date, list[int]] = {start: [0, 0, 0, 0, 0] for start in starts}
    answered_at = 1 + len(OUTCOMES)
    by_period: dict[date, dict[str, int]] = {start: defaultdict(int) for start in starts}
    column = {outcome: i + 1 for i, outcome in enumerate(OUTCOMES)}
    start_of: dict[date, date] = {}  # each day's period, worked out once

    def period_of(day: date) -> date:
        start = start_of.get(day)
        if start is None:
            start = start_of[day] = period_start(day, interval)
        return start

    for day, outcome, n in by_outcome:
        figures = totals[period_of(day)]
        figures[0] += n
        if outcome in column:
            figures[column[outcome]] += n
    seen: set[str] = set()
    for day, code, n in by_category:
        if code:
            start = period_of(day)
            totals[start][answered_at] += n
            by_period[start][code] += n
            seen.add(code)
    categories = sorted(seen, key=lambda c: CATEGORIES.get(c, (99, ""))[0])
    out = []
    for start in starts:
        started, saved, cancelled, abandoned, answered = totals[start]
        counts = by_period[start]
        out.append(
            {
                "start": start,
                "started": started,
                "answered": answered,
                "saved": saved,
                "cancelled": cancelled,
                "abandoned": abandoned,
                "save_rate": _rate(saved, saved + cancelled + abandoned),
                "categories": {
                    c: {"sessions": counts[c], "share": _rate(counts[c], answered)}
                    for c in categories
                },
            }
        )
    return {
        "from": filters.date_from,
        "to": filters.date_to,
        "interval": interval,
        "categories": [{"category": c, "label": str(category_label(c))} for c in categories],
        "periods": out,
    }


def offer_performance(
    *, workspace: Workspace, filters: AnalyticsFilters, source: Source = "rollup"
) -> dict[str, Any]:
    """Per offer: times shown, accepted, save rate, MRR saved and what it cost."""
    from offers.selectors import offer_cost_cents, offers_by_id

    rows = grouped(
        workspace=workspace,
        filters=filters,
        group_by=["offer_id", "outcome"],
        where=~Q(offer_id=0),
        source=source,
    )
    stats: dict[int, dict[str, int]] = defaultdict(
        lambda: {"shown": 0, "accepted": 0, "declined": 0, "abandoned": 0, "mrr_saved_cents": 0}
    )
    for row in rows:
        s = stats[row["offer_id"]]
        s["shown"] += row["sessions"]
        if row["outcome"] == "saved":
            s["accepted"] += row["sessions"]
            s["mrr_saved_cents"] += row["mrr_cents"]
        elif row["outcome"] == "cancelled":
            s["declined"] += row["sessions"]
        elif row["outcome"] == "abandoned":
            s["abandoned"] += row["sessions"]
    offers = offers_by_id(workspace=workspace, ids=list(stats))
    result = []
    for offer_id, s in stats.items():
        offer = offers.get(offer_id)
        cost = (
            offer_cost_cents(
                offer=offer, saved_sessions=s["accepted"], saved_mrr_cents=s["mrr_saved_cents"]
            )
            if offer
            else 0
        )
        result.append(
            {
                "offer": offer_id,
                "name": offer.name if offer else f"#{offer_id}",
                "kind": offer.kind if offer else "",
                **s,
                "save_rate": _rate(s["accepted"], s["shown"]),
                "discount_cost_cents": cost,
                "net_mrr_saved_cents": s["mrr_saved_cents"] - cost,
            }
        )
    result.sort(key=lambda r: (-int(r["shown"] or 0), str(r["offer"])))
    return {"from": filters.date_from, "to": filters.date_to, "offers": result}


BREAKDOWNS = {"plan": "plan", "locale": "locale", "survey": "survey_id"}


def breakdown(
    *, workspace: Workspace, filters: AnalyticsFilters, by: str, source: Source = "rollup"
) -> list[dict[str, Any]]:
    """Sessions and outcomes per plan, locale or survey."""
    if by not in BREAKDOWNS:
        raise Invalid(
            "'by' must be plan, locale or survey.",
            code="invalid_breakdown",
            fields={"by": "plan, locale or survey"},
        )
    dim = BREAKDOWNS[by]
    rows = grouped(workspace=workspace, filters=filters, group_by=[dim, "outcome"], source=source)
    stats: dict[Any, dict[str, int]] = defaultdict(
        lambda: {"started": 0, "saved": 0, "cancelled": 0, "abandoned": 0, "mrr_lost_cents": 0}
    )
    for row in rows:
        s = stats[row[dim]]
        s["started"] += row["sessions"]
        if row["outcome"] in OUTCOMES:
            s[row["outcome"]] += row["sessions"]
        if row["outcome"] == "cancelled":
            s["mrr_lost_cents"] += row["mrr_cents"]
    names: dict[Any, str] = {}
    if by == "locale":
        names = {code: str(name) for code, name in settings.LANGUAGES}
    if by == "survey":
        from surveys.models import Survey

        names = dict(
            Survey.objects.filter(workspace=workspace, pk__in=list(stats)).values_list("pk", "name")
        )
    result = [
        {
            by: key,
            "label": names.get(key, str(key) if key != "" else "—"),
            **s,
            "save_rate": _rate(s["saved"], s["saved"] + s["cancelled"] + s["abandoned"]),
        }
        for key, s in stats.items()
    ]
    result.sort(key=lambda r: (-r["started"], str(r[by])))
    return result


def churn_rates(*, workspace: Workspace, filters: AnalyticsFilters) -> dict[str, Any] | None:
    """Churn rate and customer retention rate for the period from the host's
    subscriber counts; None until the counts needed have been posted."""
    counts = SubscriberCount.objects.filter(workspace=workspace)
    start = (
        counts.filter(date__lt=filters.date_from).order_by("-date").values("date", "active").first()
    )
    end = (
        counts.filter(date__gte=filters.date_from, date__lte=filters.date_to)
        .order_by("-date")
        .values("date", "active")
        .first()
    )
    if start is None or end is None or not start["active"]:
        return None
    new = (
        counts.filter(date__gt=start["date"], date__lte=end["date"]).aggregate(n=Sum("new"))["n"]
        or 0
    )
    s, e = start["active"], end["active"]
    lost = max(s + new - e, 0)
    return {
        "start_date": start["date"],
        "end_date": end["date"],
        "active_at_start": s,
        "active_at_end": e,
        "new": new,
        "lost": lost,
        "churn_rate": round(lost / s * 100, 2),
        "retention_rate": round((e - new) / s * 100, 2),
    }


# --- The customers' words ----------------------------------------------------------------


# What is shown beside an answer's words (in the API and on the words page): its
# session's start, plan and outcome. Read in the same statement as the answers.
ANSWER_RELATED = ("session",)


def verbatims(
    *,
    workspace: Workspace,
    filters: AnalyticsFilters,
    category: str = "",
    reason: str = "",
    query: str = "",
    outcome: str = "",
) -> QuerySet[Response]:
    """Answers with words in them, newest first, within the filters. Read by the
    session's start and plan as copied onto the answer, so the partial indexes of
    words (by workspace, category, reason or plan) give them in order."""
    start, end = filters_bounds(workspace, filters)
    answers = (
        Response.objects.filter(
            workspace=workspace,
            session_created_at__gte=start,
            session_created_at__lt=end,
        )
        .exclude(text="")
        .select_related(*ANSWER_RELATED)
        .order_by("-session_created_at", "-pk")
    )
    if filters.plan:
        answers = answers.filter(plan=filters.plan)
    if filters.survey_id is not None:
        answers = answers.filter(session__survey_id=filters.survey_id)
    if filters.locale:
        answers = answers.filter(locale=filters.locale)
    if category:
        answers = answers.filter(category_id=category)
    if reason:
        answers = answers.filter(reason_code=reason)
    if outcome:
        answers = answers.filter(session__outcome=outcome)
    return words_matching(answers, query)


def verbatims_slice(answers: QuerySet[Response], start: int, stop: int) -> list[Response]:
    """``answers[start:stop]`` (from ``verbatims``), with their sessions and offers
    joined for those answers only: the answers skipped to get there (a thousand,
    on a deep page) are read from their index, not each joined to its session.
    An answer deleted between the two reads (its workspace's data erased, say) is
    left out of the page rather than failing it."""
    ids = list(answers.values_list("pk", flat=True)[start:stop])
    found = answers.model.objects.select_related(*ANSWER_RELATED).in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]


def filter_choices(*, workspace: Workspace) -> dict[str, list[Any]]:
    """The plans and surveys the dashboard's filters offer (from recent rollups)."""
    from surveys.models import Survey

    until = (
        RollupSummary.objects.filter(workspace=workspace).values_list("until", flat=True).first()
    )
    # Summarised months, and the day rows since (all of them before any summary):
    # one query for each (UNION), so each goes straight to its rows in the index.
    rows = SessionRollup.objects.filter(workspace=workspace).exclude(plan="")
    months = rows.filter(period=RollupPeriod.MONTH, grain=RollupGrain.PLAN)
    days = rows.filter(
        period=RollupPeriod.DAY, grain=RollupGrain.DETAIL, day__gte=until or date.min
    )
    plans = list(
        months.values_list("plan", flat=True)
        .union(days.values_list("plan", flat=True))
        .order_by("plan")
    )
    surveys = list(Survey.objects.filter(workspace=workspace).values_list("pk", "name"))
    return {"plans": plans, "surveys": surveys, "locales": list(settings.LANGUAGES)}


# --- Export --------------------------------------------------------------------------------

# CSV column -> the session's field it comes from.
EXPORT_FIELDS = (
    ("session_id", "pk"),
    ("created_at", "created_at"),
    ("completed_at", "completed_at"),
    ("status", "status"),
    ("outcome", "outcome"),
    ("customer_id", "customer_id"),
    ("subscription_id", "subscription_id"),
    ("plan", "plan"),
    ("mrr_cents", "mrr_cents"),
    ("currency", "currency"),
    ("locale", "locale"),
    ("survey_id", "survey_id"),
    ("reason", "response__reason_code"),
    ("reason_label", "response__reason_label"),
    ("category", "response__category_id"),
    ("category_source", "response__category_source"),
    ("text", "response__text"),
    ("offer_id", "offer_id"),
    ("offer_name", "offer__name"),
    ("offer_kind", "offer__kind"),
)
EXPORT_COLUMNS = tuple(column for column, _field in EXPORT_FIELDS)


def export_rows(*, workspace: Workspace, filters: AnalyticsFilters) -> Iterable[list[Any]]:
    """Every session within the filters, oldest first, as CSV rows (streamed)."""
    start, end = filters_bounds(workspace, filters)
    sessions = CancelSession.objects.filter(
        workspace=workspace, created_at__gte=start, created_at__lt=end
    )
    if filters.plan:
        sessions = sessions.filter(plan=filters.plan)
    if filters.survey_id is not None:
        sessions = sessions.filter(survey_id=filters.survey_id)
    if filters.locale:
        sessions = sessions.annotate(d_locale=_raw_dimension("locale", workspace)).filter(
            d_locale=filters.locale
        )
    rows = sessions.order_by("created_at", "pk").values_list(
        *(field for _column, field in EXPORT_FIELDS)
    )
    default_locale = workspace.default_locale
    for row in rows.iterator(chunk_size=2000):
        values: list[Any] = list(row)
        values[1] = values[1].isoformat()
        values[2] = values[2].isoformat() if values[2] else ""
        values[10] = values[10] or default_locale
        yield ["" if v is None else v for v in values]
