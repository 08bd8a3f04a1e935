from __future__ import annotations

import pytest

from surveys.risk import risk_score


@pytest.mark.parametrize(
    ("mrr_cents", "tenure", "category", "outcome", "expected"),
    [
        # The two examples the module documents.
        (29900, 365, "competitor", "cancelled", 93),
        (1900, 30, "not_needed", "saved", 24),
        # Unknown tenure counts 5; no answer counts 10.
        (4900, None, "", "abandoned", 48),
        # Never above 100.
        (10**9, 3650, "competitor", "cancelled", 100),
    ],
)
def test_risk_score_reads_as_documented(mrr_cents, tenure, category, outcome, expected) -> None:
    assert risk_score(mrr_cents=mrr_cents, tenure=tenure, category=category, outcome=outcome) == (
        expected
    )


def test_more_revenue_and_a_competitor_mean_more_risk() -> None:
    base = risk_score(mrr_cents=1900, tenure=100, category="not_needed", outcome="cancelled")
    richer = risk_score(mrr_cents=29900, tenure=100, category="not_needed", outcome="cancelled")
    rival = risk_score(mrr_cents=1900, tenure=100, category="competitor", outcome="cancelled")
    assert richer > base and rival > base
