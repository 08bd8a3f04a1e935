"""Demo data for analytics: the subscriber counts a host would post, consistent
with the demo's history of cancellations (so churn and retention rates show)."""

from __future__ import annotations

import random
from datetime import timedelta

from analytics.models import RollupGrain, RollupPeriod, SessionRollup
from analytics.selectors import workspace_today
from analytics.services import SubscriberCountInput, subscriber_counts_record
from workspaces.models import Workspace

# A subscription business of the kind the demo plays loses about 6% of its
# customers a month (0.2% a day) and grows a little.
DAILY_CHURN = 0.002
DAILY_GROWTH = 0.0005


def subscriber_counts_demo(
    *, workspace: Workspace, days: int, seed: int | None = None, base: int = 2400
) -> int:
    """Post a daily count for each of the last ``days`` days, in step with the
    demo's history: the customers it cancels leave on the day they cancel, and
    the customer base is as large as that many cancellations imply (at least
    ``base``), with sign-ups a little above the losses. Posting again (a new
    history) replaces the counts. Returns the number of days posted."""
    rng = random.Random(seed)
    today = workspace_today(workspace)
    start = today - timedelta(days=days)
    lost_by_day: dict = {}
    for day, sessions in (
        SessionRollup.objects.filter(
            workspace=workspace,
            period=RollupPeriod.DAY,
            grain=RollupGrain.DETAIL,
            day__gte=start,
            outcome="cancelled",
        )
        .values_list("day", "sessions")
        .iterator()
    ):
        lost_by_day[day] = lost_by_day.get(day, 0) + sessions
    lost_per_day = sum(lost_by_day.values()) / (days + 1)
    active = max(base, round(lost_per_day / DAILY_CHURN))
    counts = []
    for offset in range(days + 1):
        day = start + timedelta(days=offset)
        expected = lost_per_day + active * DAILY_GROWTH
        new = max(0, round(rng.gauss(expected, max(1.0, expected * 0.25))))
        active = max(active + new - lost_by_day.get(day, 0), new)
        counts.append(SubscriberCountInput(date=day, active=active, new=new))
    subscriber_counts_record(workspace=workspace, counts=counts)
    return len(counts)
