"""Sessions and outcomes per plan, locale or survey."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.conf import settings

from analytics.selectors.currency import home_currency, other_currency_rows, split_by_currency
from analytics.selectors.filters import AnalyticsFilters
from analytics.selectors.grouped import Source, grouped
from analytics.selectors.rates import OUTCOMES, _rate
from config.errors import Invalid
from surveys.models import Survey
from workspaces.models import Workspace

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
    home = home_currency(workspace)
    lost = split_by_currency(
        home=home,
        rows=rows,
        other_rows=other_currency_rows(
            workspace=workspace, filters=filters, group_by=[dim, "outcome"]
        ),
        key=lambda r: r[dim] if r["outcome"] == "cancelled" else None,
    )
    stats: dict[Any, dict[str, Any]] = defaultdict(
        lambda: {"started": 0, "saved": 0, "cancelled": 0, "abandoned": 0}
    )
    for row in rows:
        s = stats[row[dim]]
        s["started"] += row["sessions"]
        if row["outcome"] in OUTCOMES:
            s[row["outcome"]] += row["sessions"]
    for key, s in stats.items():
        amounts = lost.get(key) or {home: 0}
        s["mrr_lost_cents"] = amounts.get(home, 0)
        s["mrr_lost_by_currency"] = amounts
    names: dict[Any, str] = {}
    if by == "locale":
        names = {code: str(name) for code, name in settings.LANGUAGES}
    if by == "survey":
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
