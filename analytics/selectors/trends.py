"""Sessions, outcomes and answers per category, per day, week or month."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from analytics.models import calendar_period_start
from analytics.selectors.filters import AnalyticsFilters
from analytics.selectors.grouped import Source, grouped_sets
from analytics.selectors.rates import OUTCOMES, _rate
from config.errors import Invalid
from surveys.taxonomy import CATEGORIES, category_label
from workspaces.models import Workspace


def _periods(filters: AnalyticsFilters, interval: str) -> list[date]:
    starts: list[date] = []
    day = filters.date_from
    while day <= filters.date_to:
        start = calendar_period_start(day, interval)
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
            start = start_of[day] = calendar_period_start(day, interval)
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
