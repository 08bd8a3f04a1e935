"""Money kept apart by currency: amounts in different currencies are never added.

The rollups sum MRR without a currency, so they are right for a workspace whose
sessions are all in its own currency (``Workspace.currency``), which is nearly
always so. The sessions in any other currency are recounted from the raw
sessions (``other_currency_rows``: the index ``session_ws_currency`` finds them
without reading the workspace's own, a range on either side of its currency)
and taken out of the rollups' sums: what is left is the workspace's currency.

Every money figure ``X_cents`` is then the amount in the workspace's currency,
and ``X_by_currency`` maps each currency present to its own amount (the
workspace's included).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

from django.db.models import Q

from analytics.selectors.filters import AnalyticsFilters
from analytics.selectors.grouped import Source, raw_grouped
from workspaces.models import Workspace


def home_currency(workspace: Workspace) -> str:
    return (workspace.currency or "USD").upper()


def other_currency_rows(
    *,
    workspace: Workspace,
    filters: AnalyticsFilters,
    group_by: Sequence[str],
    where: Q | None = None,
    source: Source = "rollup",
) -> list[dict[str, Any]]:
    """Sessions of the period in currencies other than the workspace's, grouped by
    ``currency`` and ``group_by`` (the same dimensions and sums as ``grouped``).
    Read from the raw sessions whatever ``source`` (the rollups have no currency)."""
    home = home_currency(workspace)
    other = Q(currency__lt=home) | Q(currency__gt=home)
    return list(
        raw_grouped(
            workspace=workspace,
            filters=filters,
            group_by=["currency", *group_by],
            where=other & where if where is not None else other,
        )
    )


Key = Hashable


def with_accepted(row: dict[str, Any]) -> dict[str, Any]:
    """The row with ``accepted_sessions`` and ``accepted_mrr_cents``: its saved
    sessions less those kept without taking the offer ("keep my subscription")."""
    kept, kept_mrr = int(row.get("kept") or 0), int(row.get("kept_mrr_cents") or 0)
    return {
        **row,
        "accepted_sessions": int(row["sessions"]) - kept,
        "accepted_mrr_cents": int(row["mrr_cents"]) - kept_mrr,
        "kept": kept,
        "kept_mrr_cents": kept_mrr,
    }


def split_by_currency(
    *,
    home: str,
    rows: Iterable[dict[str, Any]],
    other_rows: Iterable[dict[str, Any]],
    key: Callable[[dict[str, Any]], Key | None],
    measure: str = "mrr_cents",
) -> dict[Key, dict[str, int]]:
    """Per key: currency -> amount of ``measure``. ``rows`` (all currencies summed)
    less ``other_rows`` (each in its own currency) is the workspace's currency.
    Rows whose key is None are left out."""
    found: dict[Key, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        k = key(row)
        if k is not None:
            found[k][home] += int(row[measure])
    for row in other_rows:
        k = key(row)
        if k is not None:
            found[k][row["currency"]] += int(row[measure])
            found[k][home] -= int(row[measure])
    return {k: {c: v for c, v in amounts.items() if v or c == home} for k, amounts in found.items()}
