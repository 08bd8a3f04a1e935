"""Answers by category and by reason, against the previous period."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import Q
from django.utils import translation

from analytics.selectors.currency import home_currency, other_currency_rows, split_by_currency
from analytics.selectors.filters import AnalyticsFilters
from analytics.selectors.grouped import Source, grouped
from analytics.selectors.rates import _change, _rate
from surveys.locales import localized
from surveys.models import Reason
from surveys.taxonomy import CATEGORIES, category_label
from workspaces.models import Workspace


def _category_label(code: str, locale: str) -> str:
    with translation.override(locale):
        return str(category_label(code))


def _reason_labels(workspace: Workspace, locale: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    for code, label in (
        Reason.objects.filter(survey__workspace=workspace)
        .order_by("survey__is_default", "id")
        .values_list("code", "label")
    ):
        labels[code] = localized(label, locale) or code
    return labels


def reasons(
    *,
    workspace: Workspace,
    filters: AnalyticsFilters,
    locale: str = "en",
    source: Source = "rollup",
) -> dict[str, Any]:
    """Answers by category and by reason: count, share of answers, how many were
    saved, and the change against the previous period."""
    answered = ~Q(reason_code="")
    rows = grouped(
        workspace=workspace,
        filters=filters,
        group_by=["category_code", "reason_code", "outcome"],
        where=answered,
        source=source,
    )
    before_rows = grouped(
        workspace=workspace,
        filters=filters.previous(),
        group_by=["category_code", "reason_code"],
        where=answered,
        source=source,
    )
    home = home_currency(workspace)
    other = other_currency_rows(
        workspace=workspace,
        filters=filters,
        group_by=["category_code", "reason_code", "outcome"],
        where=answered,
    )
    lost_by_category = split_by_currency(
        home=home,
        rows=rows,
        other_rows=other,
        key=lambda r: r["category_code"] if r["outcome"] == "cancelled" else None,
    )
    lost_by_reason = split_by_currency(
        home=home,
        rows=rows,
        other_rows=other,
        key=lambda r: (
            (r["category_code"], r["reason_code"]) if r["outcome"] == "cancelled" else None
        ),
    )
    labels = _reason_labels(workspace, locale)
    total = sum(r["sessions"] for r in rows)
    total_before = sum(r["sessions"] for r in before_rows)
    cats: dict[str, dict[str, Any]] = {}
    for row in rows:
        cat = cats.setdefault(
            row["category_code"],
            {"sessions": 0, "saved": 0, "reasons": {}},
        )
        reason = cat["reasons"].setdefault(row["reason_code"], {"sessions": 0, "saved": 0})
        for target in (cat, reason):
            target["sessions"] += row["sessions"]
            if row["outcome"] == "saved":
                target["saved"] += row["sessions"]
    before_cat: dict[str, int] = defaultdict(int)
    before_reason: dict[tuple[str, str], int] = defaultdict(int)
    for row in before_rows:
        before_cat[row["category_code"]] += row["sessions"]
        before_reason[(row["category_code"], row["reason_code"])] += row["sessions"]

    def share(n: int, whole: int) -> float | None:
        return _rate(n, whole)

    categories = []
    for code, cat in cats.items():
        reason_list = [
            {
                "reason": rcode,
                "label": labels.get(rcode, rcode),
                "sessions": r["sessions"],
                "share": share(r["sessions"], total),
                "saved": r["saved"],
                **_lost(lost_by_reason.get((code, rcode)), home),
                "previous": before_reason.get((code, rcode), 0),
                "share_change": _share_change(
                    r["sessions"], total, before_reason.get((code, rcode), 0), total_before
                ),
            }
            for rcode, r in cat["reasons"].items()
        ]
        reason_list.sort(key=lambda r: (-r["sessions"], r["reason"]))
        categories.append(
            {
                "category": code,
                "label": _category_label(code, locale),
                "sessions": cat["sessions"],
                "share": share(cat["sessions"], total),
                "saved": cat["saved"],
                "save_rate": _rate(cat["saved"], cat["sessions"]),
                **_lost(lost_by_category.get(code), home),
                "previous": before_cat.get(code, 0),
                "change": _change(cat["sessions"], before_cat.get(code, 0)),
                "share_change": _share_change(
                    cat["sessions"], total, before_cat.get(code, 0), total_before
                ),
                "reasons": reason_list,
            }
        )
    categories.sort(key=lambda c: (-c["sessions"], CATEGORIES.get(c["category"], (99, ""))[0]))
    return {
        "from": filters.date_from,
        "to": filters.date_to,
        "answered": total,
        "previous_answered": total_before,
        "categories": categories,
    }


def _lost(amounts: dict[str, int] | None, home: str) -> dict[str, Any]:
    """MRR lost to cancellations: in the workspace's currency, and per currency."""
    amounts = amounts or {home: 0}
    return {"mrr_lost_cents": amounts.get(home, 0), "mrr_lost_by_currency": amounts}


def _share_change(n: int, total: int, before: int, total_before: int) -> float | None:
    """Change in share, in percentage points (0.05 = up five points)."""
    if not total or not total_before:
        return None
    return round(n / total - before / total_before, 4)
