"""The product team's dashboard, the customers' words, and CSV downloads.

Every figure comes from analytics.selectors, like the API's. Charts are drawn by
the vendored Chart.js from numbers embedded in the page; every chart also has
its numbers as a table, so the page reads fine without JavaScript.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from analytics.export import figures_csv, sessions_csv
from analytics.money import SEPARATOR, dashboard_money_split
from analytics.selectors.breakdown import breakdown
from analytics.selectors.filters import (
    AnalyticsFilters,
    filter_choices,
    filters_bounds,
    filters_parse,
    workspace_today,
)
from analytics.selectors.funnel import headline
from analytics.selectors.offers import offer_performance
from analytics.selectors.reasons import reasons
from analytics.selectors.saves import DEFAULT_DAYS as SAVES_DAYS
from analytics.selectors.saves import saves_horizons
from analytics.selectors.trends import trends
from analytics.selectors.verbatims import verbatims, verbatims_slice
from analytics.templatetags.figures import duration, pct
from config.db import planned_per_call
from config.errors import ServiceError
from config.panels import dashboard_panels
from surveys.locales import normalize_locale
from surveys.models import Outcome
from surveys.services import response_relabel
from surveys.taxonomy import CATEGORIES, category_label
from workspaces.access import member_required
from workspaces.models import Role, Workspace

ANALYSTS = (Role.ADMIN, Role.ANALYST)
RANGES = (7, 30, 90, 365)


def _filters(request: HttpRequest, workspace: Workspace) -> tuple[AnalyticsFilters, str | None]:
    """The filters asked for, or the defaults with the reason they were refused."""
    try:
        return filters_parse(workspace=workspace, params=request.GET), None
    except ServiceError as error:
        return filters_parse(workspace=workspace, params={}), error.message


def _locale() -> str:
    return normalize_locale(get_language()) or "en"


def _query(filters: AnalyticsFilters, **extra: Any) -> str:
    params = QueryDict(mutable=True)
    params.update(filters.as_params())
    for key, value in extra.items():
        if value not in (None, ""):
            params[key] = str(value)
    return params.urlencode()


def _categories() -> list[tuple[str, str]]:
    return [(code, str(category_label(code))) for code in CATEGORIES]


@member_required()
@planned_per_call
def dashboard(request: HttpRequest) -> HttpResponse:
    """Why customers leave, how that changes, and what saves them."""
    workspace: Workspace = request.workspace  # type: ignore[attr-defined]
    if request.membership_role not in ANALYSTS:  # type: ignore[attr-defined]
        return redirect("alerts-inbox", workspace.slug)
    filters, problem = _filters(request, workspace)
    interval = request.GET.get("interval") or ("month" if filters.days > 120 else "week")
    if interval not in ("day", "week", "month"):
        interval = "week"
    locale = _locale()
    top = headline(workspace=workspace, filters=filters)
    by_reason = reasons(workspace=workspace, filters=filters, locale=locale)
    by_time = trends(workspace=workspace, filters=filters, interval=interval)
    offers = offer_performance(workspace=workspace, filters=filters)
    started = top["started"]
    steps = []
    previous_count = None
    for step in top["steps"][:3]:
        steps.append(
            {
                **step,
                "of_started": step["sessions"] / started if started else None,
                "of_previous": (step["sessions"] / previous_count if previous_count else None),
            }
        )
        previous_count = step["sessions"]
    outcomes = [
        {**s, "of_started": s["sessions"] / started if started else None} for s in top["steps"][3:]
    ]
    chart_data = {
        "funnel": {
            "labels": [str(_step_label(s["step"])) for s in top["steps"]],
            "values": [s["sessions"] for s in top["steps"]],
        },
        "reasons": {
            "labels": [c["label"] for c in by_reason["categories"]],
            "values": [c["sessions"] for c in by_reason["categories"]],
        },
        "trends": {
            "labels": [p["start"].isoformat() for p in by_time["periods"]],
            "series": [
                {
                    "label": c["label"],
                    "values": [
                        round((p["categories"][c["category"]]["share"] or 0) * 100, 1)
                        for p in by_time["periods"]
                    ],
                }
                for c in by_time["categories"]
            ],
            "save_rate": {
                "label": str(_("Save rate")),
                "values": [
                    None if p["save_rate"] is None else round(p["save_rate"] * 100, 1)
                    for p in by_time["periods"]
                ],
            },
        },
        "labels": {"share": str(_("Share of answers (%)")), "sessions": str(_("Sessions"))},
    }
    trend: dict[str, Any] = chart_data["trends"]  # type: ignore[assignment]
    trend["y_max"] = axis_max(
        [v for series in [*trend["series"], trend["save_rate"]] for v in series["values"]]
    )
    cohort = AnalyticsFilters(
        date_from=filters.date_to - timedelta(days=SAVES_DAYS - 1),
        date_to=filters.date_to,
        plan=filters.plan,
        survey_id=filters.survey_id,
        locale=filters.locale,
    )
    choices = filter_choices(workspace=workspace)
    since, until = filters_bounds(workspace, filters)
    return render(
        request,
        "analytics/dashboard.html",
        {
            "workspace": workspace,
            "filters": filters,
            "problem": problem,
            "interval": interval,
            "top": top,
            "cards": _cards(top, workspace.currency),
            "lasting": saves_horizons(workspace=workspace, filters=cohort),
            "lasting_from": cohort.date_from,
            "steps": steps,
            "outcomes": outcomes,
            "reasons": by_reason,
            "trends": by_time,
            "offers": offers["offers"],
            "net_months": offers["net_horizon_months"],
            "plans": breakdown(workspace=workspace, filters=filters, by="plan"),
            "locales": breakdown(workspace=workspace, filters=filters, by="locale"),
            "surveys": breakdown(workspace=workspace, filters=filters, by="survey"),
            "chart_data": chart_data,
            # What other apps add (alerts: the alerts raised for these sessions).
            "panels": [
                {"template": panel.template, "context": panel.context(workspace, since, until)}
                for panel in dashboard_panels()
            ],
            "choices": choices,
            "query": _query(filters),
            "ranges": [(days, _range_query(workspace, days, filters)) for days in RANGES],
            "intervals": [("week", _("Weekly")), ("month", _("Monthly")), ("day", _("Daily"))],
        },
    )


# (figure, how to write it, is a rise good news?)
CARDS = (
    ("started", "count", None),
    ("save_rate", "rate", True),
    ("mrr_saved_by_currency", "money", True),
    ("mrr_lost_by_currency", "money", False),
    ("cancelled", "count", False),
    ("abandoned", "count", False),
    ("avg_seconds_to_complete", "seconds", None),
)


def axis_max(values: list[float | None]) -> float:
    """The top of a percentage axis that fits the data: the largest value rounded up
    to the next 5 (10 above 50), at least 5, at most 100."""
    top = max((v for v in values if v is not None), default=0.0)
    step = 10 if top > 50 else 5
    return float(min(100, max(step, math.ceil(top / step) * step)))


def _write(value: Any, how: str, currency: str) -> str:
    if value is None:
        return "—"
    if how == "rate":
        return pct(value)
    if how == "money":
        # A mapping currency -> amount: every currency apart, never added.
        return dashboard_money_split(value, home=currency)
    if how == "seconds":
        return duration(value)
    return f"{value:,}"


def _cards(top: dict[str, Any], currency: str) -> list[dict[str, Any]]:
    labels = {
        "started": _("Sessions started"),
        "save_rate": _("Save rate"),
        "mrr_saved_by_currency": _("MRR saved"),
        "mrr_lost_by_currency": _("MRR lost (cancelled)"),
        "cancelled": _("Cancelled (active churn)"),
        "abandoned": _("Abandoned (passive churn)"),
        "avg_seconds_to_complete": _("Average time to decide"),
    }
    cards = []
    for name, how, rise_is_good in CARDS:
        # Money changes in the workspace's own currency (the headline's figure).
        delta = top["change"][name.replace("_by_currency", "_cents")]
        tone = "neutral"
        if delta and rise_is_good is not None:
            tone = "good" if (delta > 0) == rise_is_good else "bad"
        cards.append(
            {
                "name": name,
                "label": labels[name],
                "value": _write(top[name], how, currency),
                # Money in several currencies: each amount apart (it never wraps
                # inside one).
                "amounts": (
                    dashboard_money_split(top[name], home=currency).split(SEPARATOR)
                    if how == "money"
                    else []
                ),
                "previous": _write(top["previous"][name], how, currency),
                "change": delta,
                "change_in": "points" if how == "rate" else "relative",
                "tone": tone,
            }
        )
    return cards


def _range_query(workspace: Workspace, days: int, filters: AnalyticsFilters) -> str:
    today = workspace_today(workspace)
    ranged = AnalyticsFilters(
        date_from=today - timedelta(days=days - 1),
        date_to=today,
        plan=filters.plan,
        survey_id=filters.survey_id,
        locale=filters.locale,
    )
    return _query(ranged)


def _step_label(step: str) -> str:
    return {
        "started": _("Started"),
        "answered": _("Answered"),
        "offered": _("Offered"),
        "saved": _("Saved"),
        "saved_by_offer": _("Saved by an offer"),
        "kept": _("Kept without an offer"),
        "cancelled": _("Cancelled"),
        "abandoned": _("Abandoned"),
    }[step]


class WordsPaginator(Paginator):
    """Counts at most ``CAP`` answers: a workspace with millions of answers pages
    through its customers' words without counting them all; past the cap the page
    says "more than". A search counts at most ``SEARCH_CAP``: its matches are
    looked for answer by answer, and a common word's ten thousandth match can be
    a million answers back (seconds, against a tenth of that)."""

    CAP = 10_000
    SEARCH_CAP = 1_000
    PER_PAGE = 50

    def __init__(self, object_list: Any, per_page: int, *, searching: bool = False) -> None:
        super().__init__(object_list, per_page)
        self.cap = self.SEARCH_CAP if searching else self.CAP

    @cached_property
    def count(self) -> int:
        answers: Any = self.object_list  # the verbatims queryset
        return answers[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.cap

    def validate_number(self, number: Any) -> int:
        if not self.capped:
            return super().validate_number(number)
        # Past the cap the number of pages is unknown: any page may have answers.
        try:
            found = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(_("That page number is not an integer")) from None
        if found < 1:
            raise EmptyPage(_("That page number is less than 1"))
        return found

    def get_page(self, number: Any) -> Page:
        try:
            return super().get_page(number)
        except EmptyPage:  # past the last answer, beyond the cap
            return self.page(self.num_pages)

    def page(self, number: Any) -> Page:
        """The page's answers, and one more to tell whether an older page follows
        (the capped count cannot tell past the cap)."""
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        answers: Any = self.object_list  # the verbatims queryset
        rows = verbatims_slice(answers, bottom, bottom + self.per_page + 1)
        if not rows and number > 1:
            raise EmptyPage(_("That page contains no results"))
        return WordsPage(rows[: self.per_page], number, self, more=len(rows) > self.per_page)


class WordsPage(Page):
    def __init__(self, object_list: Any, number: int, paginator: Paginator, *, more: bool):
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self) -> bool:
        return self.more


@member_required(*ANALYSTS)
@planned_per_call
def words(request: HttpRequest) -> HttpResponse:
    """The customers' own words behind the figures, searchable, with re-labelling."""
    workspace: Workspace = request.workspace  # type: ignore[attr-defined]
    filters, problem = _filters(request, workspace)
    category = request.GET.get("category") or ""
    if category not in CATEGORIES:
        category = ""
    outcome = request.GET.get("outcome") or ""
    if outcome not in Outcome.values:
        outcome = ""
    reason = (request.GET.get("reason") or "")[:60]
    query = (request.GET.get("q") or "").strip()[:200]
    found = verbatims(
        workspace=workspace,
        filters=filters,
        category=category,
        reason=reason,
        query=query,
        outcome=outcome,
    )
    paginator = WordsPaginator(found, WordsPaginator.PER_PAGE, searching=bool(query))
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "analytics/words.html",
        {
            "workspace": workspace,
            "filters": filters,
            "problem": problem,
            "page": page,
            "category": category,
            "outcome": outcome,
            "reason": reason,
            "q": query,
            "categories": _categories(),
            "outcomes": Outcome.choices,
            "choices": filter_choices(workspace=workspace),
            "query": _query(filters, category=category, outcome=outcome, reason=reason, q=query),
            "back": request.get_full_path(),
        },
    )


@require_POST
@member_required(*ANALYSTS)
def relabel(request: HttpRequest, response_id: int) -> HttpResponse:
    """Set an answer's category by hand; the figures follow at once."""
    workspace: Workspace = request.workspace  # type: ignore[attr-defined]
    category = request.POST.get("category") or ""
    try:
        answer = response_relabel(
            workspace=workspace, response_id=response_id, category_code=category
        )
    except ServiceError as error:
        if error.status_code == 404:
            from django.http import Http404

            raise Http404(error.message) from None
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Answer re-labelled as “%(category)s”.")
            % {"category": category_label(answer.category_id)},
        )
    back = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("analytics-words", args=[workspace.slug])
    return redirect(back)


def _export(request: HttpRequest, build: Any) -> HttpResponseBase:
    workspace: Workspace = request.workspace  # type: ignore[attr-defined]
    try:
        filters = filters_parse(workspace=workspace, params=request.GET)
    except ServiceError as error:
        return HttpResponse(error.message, status=400, content_type="text/plain; charset=utf-8")
    return build(workspace, filters)


@member_required(*ANALYSTS)
def export_sessions(request: HttpRequest) -> HttpResponseBase:
    """The sessions behind the dashboard's figures, as CSV."""
    return _export(request, lambda ws, f: sessions_csv(workspace=ws, filters=f))


@member_required(*ANALYSTS)
def export_figures(request: HttpRequest) -> HttpResponseBase:
    """The figures the dashboard shows, as CSV."""
    return _export(request, lambda ws, f: figures_csv(workspace=ws, filters=f, locale=_locale()))
