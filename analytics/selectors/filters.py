"""What a figure is restricted to: the filters read from query parameters, the
period's bounds, and the choices the dashboard's filters offer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from analytics.models import RollupGrain, RollupPeriod, RollupSummary, SessionRollup
from config.errors import Invalid
from config.limits import BIGINT_MAX, EARLIEST_DATE, LATEST_DATE
from surveys.models import Survey
from workspaces.models import Workspace

MAX_RANGE_DAYS = 3 * 366


@dataclass(frozen=True)
class AnalyticsFilters:
    """What every figure is restricted to. Dates are inclusive, in the workspace's
    time zone; a session counts under the day it started."""

    date_from: date
    date_to: date
    plan: str = ""
    survey_id: int | None = None
    locale: str = ""

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    def narrowed_by(self) -> set[str]:
        """The rollup dimensions these filters restrict (of survey_id, plan, locale)."""
        narrowed = set()
        if self.survey_id is not None:
            narrowed.add("survey_id")
        if self.plan:
            narrowed.add("plan")
        if self.locale:
            narrowed.add("locale")
        return narrowed

    def previous(self) -> AnalyticsFilters:
        """The period of the same length just before this one."""
        return replace(
            self,
            date_from=self.date_from - timedelta(days=self.days),
            date_to=self.date_from - timedelta(days=1),
        )

    def as_params(self) -> dict[str, str]:
        params = {"from": self.date_from.isoformat(), "to": self.date_to.isoformat()}
        if self.plan:
            params["plan"] = self.plan
        if self.survey_id is not None:
            params["survey"] = str(self.survey_id)
        if self.locale:
            params["locale"] = self.locale
        return params


def workspace_today(workspace: Workspace, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(ZoneInfo(workspace.time_zone)).date()


# Dates a filter may name: the period before (as long as the range) and the day
# after its end must still be dates Python and the database can hold.
MIN_DATE = EARLIEST_DATE
MAX_DATE = LATEST_DATE


def _parse_date(value: str, name: str) -> date:
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(
            f"{name!r} must be a date like 2026-01-31, not {value!r}.",
            code="invalid_date",
            fields={name: "a date as YYYY-MM-DD"},
        ) from None
    if not MIN_DATE <= day <= MAX_DATE:
        raise Invalid(
            f"{name!r} must be between {MIN_DATE} and {MAX_DATE}, not {value!r}.",
            code="invalid_date",
            fields={name: f"a date from {MIN_DATE} to {MAX_DATE}"},
        )
    return day


def filters_parse(
    *, workspace: Workspace, params: Mapping[str, str], now: datetime | None = None
) -> AnalyticsFilters:
    """Read filters from query parameters (``from``, ``to``, ``plan``, ``survey``,
    ``locale``). Without dates: the last 30 days, today included."""
    today = workspace_today(workspace, now)
    date_to = _parse_date(params["to"], "to") if params.get("to") else today
    date_from = (
        _parse_date(params["from"], "from") if params.get("from") else date_to - timedelta(days=29)
    )
    if date_from > date_to:
        raise Invalid(
            "'from' is after 'to'.", code="invalid_range", fields={"from": "on or before 'to'"}
        )
    if (date_to - date_from).days + 1 > MAX_RANGE_DAYS:
        raise Invalid(
            f"The range is longer than {MAX_RANGE_DAYS} days.",
            code="range_too_long",
            fields={"from": f"at most {MAX_RANGE_DAYS} days before 'to'"},
        )
    survey_id: int | None = None
    if params.get("survey"):
        try:
            survey_id = int(params["survey"])
            if not 1 <= survey_id <= BIGINT_MAX:
                raise ValueError(survey_id)
        except ValueError:
            raise Invalid(
                "'survey' must be a survey id (a number).",
                code="invalid_survey",
                fields={"survey": "a number"},
            ) from None
    locale = (params.get("locale") or "").strip()
    known = [code for code, _name in settings.LANGUAGES]
    if locale and locale not in known:
        raise Invalid(
            f"Unknown locale {locale!r}.",
            code="invalid_locale",
            fields={"locale": f"one of {', '.join(known)}"},
        )
    return AnalyticsFilters(
        date_from=date_from,
        date_to=date_to,
        plan=(params.get("plan") or "").strip()[:100],
        survey_id=survey_id,
        locale=locale,
    )


def filters_bounds(workspace: Workspace, filters: AnalyticsFilters) -> tuple[datetime, datetime]:
    """The period as [start, end) instants in the workspace's time zone."""
    zone = ZoneInfo(workspace.time_zone)
    start = datetime.combine(filters.date_from, time.min, tzinfo=zone)
    end = datetime.combine(filters.date_to + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def filter_choices(*, workspace: Workspace) -> dict[str, list[Any]]:
    """The plans and surveys the dashboard's filters offer (from recent rollups)."""
    until = (
        RollupSummary.objects.filter(workspace=workspace).values_list("until", flat=True).first()
    )
    # Summarised months, and the day rows since (all of them before any summary):
    # one query for each (UNION), so each goes straight to its rows in the index.
    rows = SessionRollup.objects.filter(workspace=workspace).exclude(plan="")
    months = rows.filter(period=RollupPeriod.MONTH, grain=RollupGrain.PLAN)
    days = rows.filter(
        period=RollupPeriod.DAY, grain=RollupGrain.DETAIL, day__gte=until or date.min
    )
    plans = list(
        months.values_list("plan", flat=True)
        .union(days.values_list("plan", flat=True))
        .order_by("plan")
    )
    surveys = list(Survey.objects.filter(workspace=workspace).values_list("pk", "name"))
    return {"plans": plans, "surveys": surveys, "locales": list(settings.LANGUAGES)}
