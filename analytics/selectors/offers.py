"""How each offer did: shown, accepted, kept without it, save rate, MRR saved,
what it cost, and the net over one horizon.

The net sets like against like: the MRR the accepted offers kept over
``NET_HORIZON_MONTHS`` months against what the offers give away in those same
months (a 30%-for-3-months discount on $50 of MRR: $150 kept, $45 given away,
$105 net). It assumes the saved customers stay that long; the saves figure
(``analytics.selectors.saves``) tells how many did.

Money is kept apart by currency (``analytics.selectors.currency``): each
``*_cents`` figure is in the workspace's currency, ``money`` has one entry per
currency present.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import Q

from analytics.selectors.currency import (
    home_currency,
    other_currency_rows,
    split_by_currency,
    with_accepted,
)
from analytics.selectors.filters import AnalyticsFilters
from analytics.selectors.grouped import Source, grouped
from analytics.selectors.rates import _rate
from offers.models import Offer
from offers.selectors import offer_cost_cents, offers_by_id
from workspaces.models import Workspace

NET_HORIZON_MONTHS = 3


def _money(offer: Offer | None, accepted: int, mrr_saved: int) -> dict[str, int]:
    cost = (
        offer_cost_cents(offer=offer, saved_sessions=accepted, saved_mrr_cents=mrr_saved)
        if offer
        else 0
    )
    cost_within = (
        offer_cost_cents(
            offer=offer,
            saved_sessions=accepted,
            saved_mrr_cents=mrr_saved,
            within_months=NET_HORIZON_MONTHS,
        )
        if offer
        else 0
    )
    kept = mrr_saved * NET_HORIZON_MONTHS
    return {
        "mrr_saved_cents": mrr_saved,
        "discount_cost_cents": cost,
        "mrr_kept_over_horizon_cents": kept,
        "cost_over_horizon_cents": cost_within,
        "net_over_horizon_cents": kept - cost_within,
    }


def offer_performance(
    *, workspace: Workspace, filters: AnalyticsFilters, source: Source = "rollup"
) -> dict[str, Any]:
    """Per offer: times shown, accepted, save rate, MRR saved, what it cost, and
    the net over ``NET_HORIZON_MONTHS`` months, per currency."""
    where = ~Q(offer_id=0)
    rows = grouped(
        workspace=workspace,
        filters=filters,
        group_by=["offer_id", "outcome"],
        where=where,
        source=source,
    )
    home = home_currency(workspace)
    other = other_currency_rows(
        workspace=workspace, filters=filters, group_by=["offer_id", "outcome"], where=where
    )

    def saved_key(row: dict[str, Any]) -> int | None:
        return row["offer_id"] if row["outcome"] == "saved" else None

    # What the offer saved is where it was accepted: a kept customer declined it.
    accepted_rows = [with_accepted(r) for r in rows]
    accepted_other = [with_accepted(r) for r in other]
    mrr_saved = split_by_currency(
        home=home,
        rows=accepted_rows,
        other_rows=accepted_other,
        key=saved_key,
        measure="accepted_mrr_cents",
    )
    accepted_by = split_by_currency(
        home=home,
        rows=accepted_rows,
        other_rows=accepted_other,
        key=saved_key,
        measure="accepted_sessions",
    )
    stats: dict[int, dict[str, int]] = defaultdict(
        lambda: {"shown": 0, "accepted": 0, "kept": 0, "declined": 0, "abandoned": 0}
    )
    for row in rows:
        s = stats[row["offer_id"]]
        s["shown"] += row["sessions"]
        if row["outcome"] == "saved":
            # Kept: declined the offer but kept the subscription anyway.
            s["accepted"] += row["sessions"] - row["kept"]
            s["kept"] += row["kept"]
        elif row["outcome"] == "cancelled":
            s["declined"] += row["sessions"]
        elif row["outcome"] == "abandoned":
            s["abandoned"] += row["sessions"]
    offers = offers_by_id(workspace=workspace, ids=list(stats))
    result = []
    for offer_id, s in stats.items():
        offer = offers.get(offer_id)
        amounts = mrr_saved.get(offer_id, {home: 0})
        money = {
            currency: _money(offer, accepted_by.get(offer_id, {}).get(currency, 0), cents)
            for currency, cents in amounts.items()
        }
        money.setdefault(home, _money(offer, 0, 0))
        result.append(
            {
                "offer": offer_id,
                "name": offer.name if offer else f"#{offer_id}",
                "kind": offer.kind if offer else "",
                **s,
                "save_rate": _rate(s["accepted"], s["shown"]),
                "currency": home,
                **money[home],
                "money": [
                    {"currency": c, **money[c]} for c in sorted(money, key=lambda c: (c != home, c))
                ],
            }
        )
    result.sort(key=lambda r: (-int(str(r["shown"] or 0)), str(r["offer"])))
    return {
        "from": filters.date_from,
        "to": filters.date_to,
        "net_horizon_months": NET_HORIZON_MONTHS,
        "offers": result,
    }
