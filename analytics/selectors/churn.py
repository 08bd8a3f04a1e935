"""Churn rate and customer retention rate, from the host's subscriber counts."""

from __future__ import annotations

from typing import Any

from django.db.models import Sum

from analytics.models import SubscriberCount
from analytics.selectors.filters import AnalyticsFilters
from workspaces.models import Workspace


def churn_rates(*, workspace: Workspace, filters: AnalyticsFilters) -> dict[str, Any] | None:
    """Churn rate and customer retention rate for the period from the host's
    subscriber counts; None until the counts needed have been posted."""
    counts = SubscriberCount.objects.filter(workspace=workspace)
    start = (
        counts.filter(date__lt=filters.date_from).order_by("-date").values("date", "active").first()
    )
    end = (
        counts.filter(date__gte=filters.date_from, date__lte=filters.date_to)
        .order_by("-date")
        .values("date", "active")
        .first()
    )
    if start is None or end is None or not start["active"]:
        return None
    new = (
        counts.filter(date__gt=start["date"], date__lte=end["date"]).aggregate(n=Sum("new"))["n"]
        or 0
    )
    s, e = start["active"], end["active"]
    lost = max(s + new - e, 0)
    return {
        "start_date": start["date"],
        "end_date": end["date"],
        "active_at_start": s,
        "active_at_end": e,
        "new": new,
        "lost": lost,
        "churn_rate": round(lost / s * 100, 2),
        "retention_rate": round((e - new) / s * 100, 2),
    }
