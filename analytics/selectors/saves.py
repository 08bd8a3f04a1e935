"""Saves that last: of the sessions saved at least ``horizon`` days ago
(matured), how many were not cancelled within ``horizon`` days of the save
(retained); in total and per offer. Worked out by ``offers.saves`` from the
saved sessions and the subscription events the host or Stripe sent.

Read from each save's first cancellation, kept on the session, in one pass
for every horizon asked (``offers.saves``).

Which saves count: those made (by the day of the save, in the workspace's time
zone) from ``from`` to ``to``, default the 365 days to today, within the
plan, survey and language filters.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.utils.translation import gettext as _

from analytics.selectors.filters import AnalyticsFilters, filters_bounds, filters_parse
from config.errors import ServiceError
from offers.saves import (
    HORIZONS,
    SavesScope,
    durable_figures,
    durable_saves,
    durable_saves_at,
)
from offers.selectors import offers_by_id
from workspaces.models import Workspace

DEFAULT_DAYS = 365


def saves_filters(
    *, workspace: Workspace, params: Mapping[str, str], now: datetime | None = None
) -> AnalyticsFilters:
    """The usual filters, with a year (to ``to``) rather than 30 days without ``from``:
    the saves of the last 30 days have not had 30 days to last yet."""
    params = dict(params.items())
    if not params.get("from"):
        to = filters_parse(workspace=workspace, params={"to": params.get("to", "")}, now=now)
        params["from"] = (to.date_to - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
    return filters_parse(workspace=workspace, params=params, now=now)


def horizon_parse(value: str | None) -> int:
    """``horizon``: 30, 60 or 90 days (default 90)."""
    if value in (None, ""):
        return 90
    try:
        horizon = int(str(value))
    except ValueError:
        horizon = 0
    if horizon not in HORIZONS:
        raise ServiceError(
            "'horizon' must be 30, 60 or 90 (days).",
            code="validation_error",
            fields={"horizon": "30, 60 or 90"},
        )
    return horizon


def _scope(workspace: Workspace, filters: AnalyticsFilters) -> SavesScope:
    since, until = filters_bounds(workspace, filters)
    return SavesScope(
        since=since,
        until=until,
        plan=filters.plan,
        survey_id=filters.survey_id,
        locale=filters.locale,
    )


def saves(
    *,
    workspace: Workspace,
    filters: AnalyticsFilters,
    horizon: int = 90,
    now: datetime | None = None,
) -> dict[str, Any]:
    """``{horizon, from, to, saved, matured, retained, rate, by_offer: [...]}``;
    ``by_offer`` has one row per offer that saved someone (offer null: kept
    without an offer), most saves first."""
    by_offer = durable_saves(
        workspace=workspace,
        horizon=horizon,
        scope=_scope(workspace, filters),
        group_by="offer_id",
        now=now,
    )
    totals = [0, 0, 0]
    for figures in by_offer.values():
        totals[0] += figures["saved"]
        totals[1] += figures["matured"]
        totals[2] += figures["retained"]
    offers = offers_by_id(workspace=workspace, ids=[k for k in by_offer if k is not None])
    rows = []
    for offer_id, figures in by_offer.items():
        offer = offers.get(offer_id) if offer_id is not None else None
        if offer_id is None:
            name = _("Kept without an offer")
        else:
            name = offer.name if offer else f"#{offer_id}"
        rows.append(
            {
                "offer": offer_id,
                "name": str(name),
                "kind": offer.kind if offer else "",
                **figures,
            }
        )
    rows.sort(key=lambda r: (-r["saved"], r["offer"] is None, r["offer"] or 0))
    return {
        "horizon": horizon,
        "from": filters.date_from,
        "to": filters.date_to,
        **durable_figures(*totals),
        "by_offer": rows,
    }


def saves_horizons(
    *, workspace: Workspace, filters: AnalyticsFilters, now: datetime | None = None
) -> list[dict[str, Any]]:
    """The totals at every horizon (30, 60, 90 days), for the dashboard: one read."""
    found = durable_saves_at(
        workspace=workspace, horizons=HORIZONS, scope=_scope(workspace, filters), now=now
    )
    return [{"horizon": h, **found[h][None]} for h in HORIZONS]
