"""How each offer did: shown, accepted, kept without it, save rate, MRR saved
and its cost."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import Q

from analytics.selectors.filters import AnalyticsFilters
from analytics.selectors.grouped import Source, grouped
from analytics.selectors.rates import _rate
from offers.selectors import offer_cost_cents, offers_by_id
from workspaces.models import Workspace


def offer_performance(
    *, workspace: Workspace, filters: AnalyticsFilters, source: Source = "rollup"
) -> dict[str, Any]:
    """Per offer: times shown, accepted, save rate, MRR saved and what it cost."""
    rows = grouped(
        workspace=workspace,
        filters=filters,
        group_by=["offer_id", "outcome"],
        where=~Q(offer_id=0),
        source=source,
    )
    stats: dict[int, dict[str, int]] = defaultdict(
        lambda: {
            "shown": 0,
            "accepted": 0,
            "kept": 0,
            "declined": 0,
            "abandoned": 0,
            "mrr_saved_cents": 0,
        }
    )
    for row in rows:
        s = stats[row["offer_id"]]
        s["shown"] += row["sessions"]
        if row["outcome"] == "saved":
            # Kept: declined the offer but kept the subscription anyway.
            s["accepted"] += row["sessions"] - row["kept"]
            s["kept"] += row["kept"]
            s["mrr_saved_cents"] += row["mrr_cents"] - row["kept_mrr_cents"]
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
