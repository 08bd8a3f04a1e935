"""Demo data for analytics: the subscriber counts a host would post, consistent
with the demo's history of cancellations (so churn and retention rates show)."""

from __future__ import annotations

import random
from datetime import timedelta

from analytics.models import SubscriberCount
from analytics.selectors import workspace_today
from analytics.services import SubscriberCountInput, subscriber_counts_record
from workspaces.models import Workspace


def subscriber_counts_demo(
    *, workspace: Workspace, days: int, seed: int | None = None, base: int = 2400
) -> int:
    """Post a daily count for each of the last ``days`` days: about 1% of the base
    signs up each day and the cancellations of the demo history leave. Days
    already posted are left alone. Returns the number of days posted."""
    from analytics.models import SessionRollup

    rng = random.Random(seed)
    today = workspace_today(workspace)
    start = today - timedelta(days=days)
    posted = set(
        SubscriberCount.objects.filter(workspace=workspace, date__gte=start).values_list(
            "date", flat=True
        )
    )
    lost_by_day: dict = {}
    for day, sessions in (
        SessionRollup.objects.filter(
            workspace=workspace, period="day", totals=False, day__gte=start, outcome="cancelled"
        )
        .values_list("day", "sessions")
        .iterator()
    ):
        lost_by_day[day] = lost_by_day.get(day, 0) + sessions
    active = base
    counts = []
    for offset in range(days + 1):
        day = start + timedelta(days=offset)
        new = max(0, round(rng.gauss(base * 0.01, base * 0.003)))
        active = max(active + new - lost_by_day.get(day, 0), new)
        if day not in posted:
            counts.append(SubscriberCountInput(date=day, active=active, new=new))
    if counts:
        subscriber_counts_record(workspace=workspace, counts=counts)
    return len(counts)
