"""Reads for analytics: the figures of the dashboard, the API and the CSV export.

One module a figure: ``filters`` (parameters, the period, the filters' choices),
``grouped`` (the grouped sums every figure reads), ``funnel`` (and the headline),
``reasons``, ``trends``, ``offers``, ``breakdown``, ``churn``, ``verbatims`` (the
customers' words) and ``export`` (the CSV rows); ``rates`` holds what they share.
Every public name is importable from here too (``from analytics.selectors import
funnel``).

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

from analytics.selectors.breakdown import BREAKDOWNS, breakdown
from analytics.selectors.churn import churn_rates
from analytics.selectors.export import EXPORT_COLUMNS, EXPORT_FIELDS, export_rows
from analytics.selectors.filters import (
    MAX_DATE,
    MAX_RANGE_DAYS,
    MIN_DATE,
    AnalyticsFilters,
    filter_choices,
    filters_bounds,
    filters_parse,
    workspace_today,
)
from analytics.selectors.funnel import HEADLINE_FIGURES, funnel, headline
from analytics.selectors.grouped import (
    FILTER_DIMENSIONS,
    EpochSeconds,
    Source,
    grouped,
    grouped_sets,
    raw_grouped,
    rollup_cover,
    rollup_grouped,
    rollup_grouped_sets,
)
from analytics.selectors.offers import offer_performance
from analytics.selectors.rates import OUTCOMES
from analytics.selectors.reasons import reasons
from analytics.selectors.trends import trends
from analytics.selectors.verbatims import ANSWER_RELATED, verbatims, verbatims_slice

__all__ = [
    "ANSWER_RELATED",
    "BREAKDOWNS",
    "EXPORT_COLUMNS",
    "EXPORT_FIELDS",
    "FILTER_DIMENSIONS",
    "HEADLINE_FIGURES",
    "MAX_DATE",
    "MAX_RANGE_DAYS",
    "MIN_DATE",
    "OUTCOMES",
    "AnalyticsFilters",
    "EpochSeconds",
    "Source",
    "breakdown",
    "churn_rates",
    "export_rows",
    "filter_choices",
    "filters_bounds",
    "filters_parse",
    "funnel",
    "grouped",
    "grouped_sets",
    "headline",
    "offer_performance",
    "raw_grouped",
    "reasons",
    "rollup_cover",
    "rollup_grouped",
    "rollup_grouped_sets",
    "trends",
    "verbatims",
    "verbatims_slice",
    "workspace_today",
]
