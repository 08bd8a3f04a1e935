"""The risk score: how much a finished session should worry the team, 0 to 100.

It adds four parts, each a plain reading of what the churn literature says
matters, so a support lead can predict it by hand:

- value (0-40): monthly revenue, on a log scale: 40 x log10(1 + MRR in currency
  units) / 3, capped at 40 — $9 gives 13, $49 gives 23, $299 gives 33, $999+ gives 40;
- tenure (0-20): 20 x days subscribed / 365, capped at 20 (unknown: 5); the days
  are ``offers.selectors.tenure_days``, as offer targeting counts them;
- reason (0-25): a competitor offers better 25; price, customer service 20;
  product quality, missing features 15; too complex, values 10; not needed,
  other 5 (no answer: 10);
- outcome (0-15): cancelled 15, abandoned 10, saved 0.

A customer paying $299 for a year who leaves for a competitor scores 93; a
one-month $19 customer who no longer needs it and took a pause scores 24.
"""

from __future__ import annotations

import math

REASON_POINTS = {
    "competitor": 25,
    "price": 20,
    "customer_service": 20,
    "product_quality": 15,
    "missing_features": 15,
    "too_complex": 10,
    "values": 10,
    "not_needed": 5,
    "other": 5,
}
OUTCOME_POINTS = {"cancelled": 15, "abandoned": 10, "saved": 0}


def risk_score(*, mrr_cents: int, tenure: int | None, category: str, outcome: str) -> int:
    value = min(40.0, 40 * math.log10(1 + mrr_cents / 100) / 3)
    loyalty = 5.0 if tenure is None else min(20.0, 20 * tenure / 365)
    reason = REASON_POINTS.get(category, 10) if category else 10
    result = OUTCOME_POINTS.get(outcome, 0)
    return min(100, round(value + loyalty + reason + result))
