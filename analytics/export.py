"""CSV exports (streamed): the raw sessions within the filters, and the figures a
dashboard shows. Shared by the API and the web UI, so both give the same file."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse

from analytics.selectors.export import EXPORT_COLUMNS, export_rows
from analytics.selectors.filters import AnalyticsFilters
from analytics.selectors.funnel import headline
from analytics.selectors.offers import offer_performance
from analytics.selectors.reasons import reasons
from workspaces.models import Workspace

# A spreadsheet would run text starting with these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value: str) -> str:
        return value


def _safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _stream(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(list(header))
    for row in rows:
        yield writer.writerow([_safe(v) for v in row])


def _filename(workspace: Workspace, filters: AnalyticsFilters, what: str) -> str:
    return f"{workspace.slug}-{what}-{filters.date_from}-{filters.date_to}.csv"


def _response(chunks: Iterator[str], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def sessions_csv(*, workspace: Workspace, filters: AnalyticsFilters) -> StreamingHttpResponse:
    """Every session within the filters, one row each, oldest first."""
    return _response(
        _stream(EXPORT_COLUMNS, export_rows(workspace=workspace, filters=filters)),
        _filename(workspace, filters, "sessions"),
    )


def figure_rows(
    *, workspace: Workspace, filters: AnalyticsFilters, locale: str
) -> Iterator[list[Any]]:
    """The dashboard's tables as rows of (table, row label, figure, value)."""
    top = headline(workspace=workspace, filters=filters)
    for step in top["steps"]:
        yield ["funnel", step["step"], "sessions", step["sessions"]]
    for name in (
        "save_rate",
        "mrr_saved_cents",
        "mrr_saved_by_offer_cents",
        "mrr_kept_cents",
        "mrr_lost_cents",
        "mrr_at_risk_abandoned_cents",
        "discount_cost_cents",
        "active_churn",
        "passive_churn",
        "avg_seconds_to_complete",
    ):
        yield ["headline", name, "value", top[name]]
        if name in top["previous"]:
            yield ["headline", name, "previous_period", top["previous"][name]]
    for name, value in (top["churn"] or {}).items():
        yield ["churn", name, "value", value]
    for cat in reasons(workspace=workspace, filters=filters, locale=locale)["categories"]:
        for figure in ("sessions", "share", "previous", "share_change", "saved", "mrr_lost_cents"):
            yield ["category", cat["category"], figure, cat[figure]]
        for reason in cat["reasons"]:
            for figure in ("sessions", "share", "previous", "saved", "mrr_lost_cents"):
                yield ["reason", reason["reason"], figure, reason[figure]]
    for offer in offer_performance(workspace=workspace, filters=filters)["offers"]:
        for figure in (
            "shown",
            "accepted",
            "save_rate",
            "mrr_saved_cents",
            "discount_cost_cents",
            "cost_over_horizon_cents",
            "net_over_horizon_cents",
        ):
            yield ["offer", offer["name"], figure, offer[figure]]


def figures_csv(
    *, workspace: Workspace, filters: AnalyticsFilters, locale: str
) -> StreamingHttpResponse:
    """The figures the dashboard shows for these filters."""
    rows = (
        [*row[:3], "" if row[3] is None else row[3]]
        for row in figure_rows(workspace=workspace, filters=filters, locale=locale)
    )
    return _response(
        _stream(("table", "row", "figure", "value"), rows),
        _filename(workspace, filters, "figures"),
    )
