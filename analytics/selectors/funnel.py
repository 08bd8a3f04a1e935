"""The funnel and the headline figures of a period."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from analytics.selectors.churn import churn_rates
from analytics.selectors.currency import (
    home_currency,
    other_currency_rows,
    split_by_currency,
    with_accepted,
)
from analytics.selectors.filters import AnalyticsFilters
from analytics.selectors.grouped import Source, grouped
from analytics.selectors.rates import _change, _points, _rate
from offers.selectors import offer_cost_cents, offers_by_id
from workspaces.models import Workspace


def _offer_costs(workspace: Workspace, saved_by_offer: dict[Any, tuple[int, int]]) -> int:
    offers = offers_by_id(workspace=workspace, ids=list(saved_by_offer))
    return sum(
        offer_cost_cents(offer=offers[oid], saved_sessions=n, saved_mrr_cents=mrr)
        for oid, (n, mrr) in saved_by_offer.items()
        if oid in offers
    )


def _money(
    workspace: Workspace, filters: AnalyticsFilters, rows: list[dict[str, Any]], source: Source
) -> dict[str, dict[str, int]]:
    """Each money figure of the funnel, per currency (never added across them)."""
    home = home_currency(workspace)
    other = other_currency_rows(
        workspace=workspace, filters=filters, group_by=["offer_id", "outcome"], source=source
    )
    # An offer costs only where it was accepted: a kept customer declined theirs.
    rows = [with_accepted(r) for r in rows]
    other = [with_accepted(r) for r in other]
    by_outcome = split_by_currency(
        home=home, rows=rows, other_rows=other, key=lambda r: r["outcome"] or None
    )
    saved_by_offer = split_by_currency(
        home=home,
        rows=rows,
        other_rows=other,
        key=lambda r: r["offer_id"] if r["outcome"] == "saved" and r["offer_id"] else None,
        measure="accepted_mrr_cents",
    )
    kept = split_by_currency(
        home=home,
        rows=rows,
        other_rows=other,
        key=lambda r: "kept" if r["outcome"] == "saved" else None,
        measure="kept_mrr_cents",
    )
    saved_count = split_by_currency(
        home=home,
        rows=rows,
        other_rows=other,
        key=lambda r: r["offer_id"] if r["outcome"] == "saved" and r["offer_id"] else None,
        measure="accepted_sessions",
    )
    currencies = {home} | {r["currency"] for r in other}
    cost: dict[str, int] = {}
    for currency in currencies:
        cost[currency] = _offer_costs(
            workspace,
            {
                oid: (saved_count[oid].get(currency, 0), amounts.get(currency, 0))
                for oid, amounts in saved_by_offer.items()
            },
        )

    def amounts(outcome: str) -> dict[str, int]:
        found = by_outcome.get(outcome, {})
        return {c: v for c, v in found.items() if v or c == home} or {home: 0}

    return {
        "mrr_saved": amounts("saved"),
        "mrr_lost": amounts("cancelled"),
        "mrr_at_risk_abandoned": amounts("abandoned"),
        "mrr_kept": kept.get("kept") or {home: 0},
        "discount_cost": {c: v for c, v in cost.items() if v or c == home},
    }


def funnel(
    *, workspace: Workspace, filters: AnalyticsFilters, source: Source = "rollup"
) -> dict[str, Any]:
    """The funnel and the headline figures of a period. Money figures (``*_cents``)
    are in the workspace's currency; ``*_by_currency`` has every currency's own."""
    rows = grouped(
        workspace=workspace,
        filters=filters,
        group_by=["reason_code", "offer_id", "outcome"],
        source=source,
    )
    money = _money(workspace, filters, rows, source)
    home = home_currency(workspace)
    counts: dict[str, int] = defaultdict(int)
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
        seconds += row["completed_seconds"]
        counts["kept"] += row["kept"]
    # Saved: by an offer accepted, or kept without one ("keep my subscription").
    counts["saved_by_offer"] = counts["saved"] - counts["kept"]
    finished = counts["saved"] + counts["cancelled"] + counts["abandoned"]
    decided = counts["saved"] + counts["cancelled"]
    steps = ["started", "answered", "offered", "saved_by_offer", "kept", "cancelled", "abandoned"]
    return {
        "from": filters.date_from,
        "to": filters.date_to,
        "started": counts["started"],
        "answered": counts["answered"],
        "offered": counts["offered"],
        "saved": counts["saved"],
        "saved_by_offer": counts["saved_by_offer"],
        "kept": counts["kept"],
        "cancelled": counts["cancelled"],
        "abandoned": counts["abandoned"],
        "open": counts["open"],
        "steps": [{"step": s, "sessions": counts[s]} for s in steps],
        "conversion": {
            "answered_of_started": _rate(counts["answered"], counts["started"]),
            "offered_of_answered": _rate(counts["offered"], counts["answered"]),
            # Accepted offers of the offers shown (a kept customer declined theirs).
            "saved_of_offered": _rate(counts["saved_by_offer"], counts["offered"]),
        },
        "save_rate": _rate(counts["saved"], finished),
        "currency": home,
        "mrr_saved_cents": money["mrr_saved"][home],
        "mrr_saved_by_offer_cents": money["mrr_saved"][home] - money["mrr_kept"][home],
        "mrr_kept_cents": money["mrr_kept"][home],
        "mrr_lost_cents": money["mrr_lost"][home],
        "mrr_at_risk_abandoned_cents": money["mrr_at_risk_abandoned"][home],
        "discount_cost_cents": money["discount_cost"][home],
        **{f"{name}_by_currency": found for name, found in money.items()},
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


# Rates change by their difference in percentage points (0.05 = +5 pp), never by
# a change relative to themselves.
RATE_FIGURES = ("save_rate",)


def headline(
    *, workspace: Workspace, filters: AnalyticsFilters, source: Source = "rollup"
) -> dict[str, Any]:
    """The funnel, with each headline figure's change against the previous period:
    relative for counts, money and time (0.25 = +25%), in percentage points for
    rates (``RATE_FIGURES``: 0.05 = +5 pp)."""
    current = funnel(workspace=workspace, filters=filters, source=source)
    before = funnel(workspace=workspace, filters=filters.previous(), source=source)
    current["previous"] = {name: before[name] for name in HEADLINE_FIGURES}
    for name in ("mrr_saved_by_currency", "mrr_lost_by_currency"):
        current["previous"][name] = before[name]
    current["change"] = {
        name: (_points if name in RATE_FIGURES else _change)(current[name], before[name])
        for name in HEADLINE_FIGURES
    }
    current["churn"] = churn_rates(workspace=workspace, filters=filters)
    return current
