"""The funnel and the headline figures of a period."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from analytics.selectors.churn import churn_rates
from analytics.selectors.filters import AnalyticsFilters
from analytics.selectors.grouped import Source, grouped
from analytics.selectors.rates import _change, _rate
from offers.selectors import offer_cost_cents, offers_by_id
from workspaces.models import Workspace


def _offer_costs(workspace: Workspace, saved_by_offer: dict[int, tuple[int, int]]) -> int:
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
        counts["kept"] += row["kept"]
        mrr["kept"] += row["kept_mrr_cents"]
        if outcome == "saved" and row["offer_id"] and n > row["kept"]:
            saved_by_offer[row["offer_id"]][0] += n - row["kept"]
            saved_by_offer[row["offer_id"]][1] += row["mrr_cents"] - row["kept_mrr_cents"]
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
        "mrr_saved_cents": mrr["saved"],
        "mrr_saved_by_offer_cents": mrr["saved"] - mrr["kept"],
        "mrr_kept_cents": mrr["kept"],
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
