"""The CSV export's rows: every session within the filters, oldest first."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from analytics.selectors.filters import AnalyticsFilters, filters_bounds
from analytics.selectors.grouped import _raw_dimension
from surveys.models import CancelSession
from workspaces.models import Workspace

# CSV column -> the session's field it comes from.
EXPORT_FIELDS = (
    ("session_id", "pk"),
    ("created_at", "created_at"),
    ("completed_at", "completed_at"),
    ("status", "status"),
    ("outcome", "outcome"),
    ("customer_id", "customer_id"),
    ("subscription_id", "subscription_id"),
    ("plan", "plan"),
    ("mrr_cents", "mrr_cents"),
    ("currency", "currency"),
    ("locale", "locale"),
    ("survey_id", "survey_id"),
    ("reason", "response__reason_code"),
    ("reason_label", "response__reason_label"),
    ("category", "response__category_id"),
    ("category_source", "response__category_source"),
    ("text", "response__text"),
    ("offer_id", "offer_id"),
    ("offer_name", "offer__name"),
    ("offer_kind", "offer__kind"),
    # Saved without taking an offer (the offer columns then name the one shown).
    ("kept", "kept"),
)
EXPORT_COLUMNS = tuple(column for column, _field in EXPORT_FIELDS)


def export_rows(*, workspace: Workspace, filters: AnalyticsFilters) -> Iterable[list[Any]]:
    """Every session within the filters, oldest first, as CSV rows (streamed)."""
    start, end = filters_bounds(workspace, filters)
    sessions = CancelSession.objects.filter(
        workspace=workspace, created_at__gte=start, created_at__lt=end
    )
    if filters.plan:
        sessions = sessions.filter(plan=filters.plan)
    if filters.survey_id is not None:
        sessions = sessions.filter(survey_id=filters.survey_id)
    if filters.locale:
        sessions = sessions.annotate(d_locale=_raw_dimension("locale", workspace)).filter(
            d_locale=filters.locale
        )
    rows = sessions.order_by("created_at", "pk").values_list(
        *(field for _column, field in EXPORT_FIELDS)
    )
    default_locale = workspace.default_locale
    for row in rows.iterator(chunk_size=2000):
        values: list[Any] = list(row)
        values[1] = values[1].isoformat()
        values[2] = values[2].isoformat() if values[2] else ""
        values[10] = values[10] or default_locale
        yield ["" if v is None else v for v in values]
