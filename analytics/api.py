"""Analytics API (v1): the dashboard's figures, subscriber counts, CSV export.

Every figure comes from the same selectors as the dashboard, so the API, the
dashboard and the CSV always agree. Filters: ``from``, ``to`` (dates in the
workspace's time zone, inclusive; default the last 30 days), ``plan``,
``survey``, ``locale``.
"""

from __future__ import annotations

from typing import Any

from django.http import StreamingHttpResponse
from django.utils.decorators import method_decorator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.export import sessions_csv
from analytics.selectors.breakdown import breakdown
from analytics.selectors.filters import AnalyticsFilters, filters_parse
from analytics.selectors.funnel import headline
from analytics.selectors.offers import offer_performance
from analytics.selectors.reasons import reasons
from analytics.selectors.saves import horizon_parse, saves, saves_filters
from analytics.selectors.trends import trends
from analytics.selectors.verbatims import verbatims, verbatims_slice
from analytics.services import SubscriberCountInput, subscriber_counts_record
from config.db import planned_per_call
from config.errors import NotFound, ServiceError
from config.limits import BIGINT_MAX, INT_MAX, datetime_in_range
from config.openapi import error_responses
from config.storable import has_unstorable_text
from surveys.locales import normalize_locale
from workspaces.authentication import api_workspace
from workspaces.models import Workspace

FILTER_PARAMETERS = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="First day (inclusive)."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last day (inclusive)."),
    OpenApiParameter("plan", str, description="Only this plan."),
    OpenApiParameter(
        "survey",
        {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX},
        description="Only this survey (id).",
    ),
    OpenApiParameter("locale", str, description="Only this language (en, zh-hans)."),
]
# An unknown survey is 404; dates out of order or a period too long, 422.
FILTER_ERRORS = error_responses(404, 422)


def request_filters(
    request: Request, parse: Any = filters_parse
) -> tuple[Workspace, AnalyticsFilters]:
    workspace = api_workspace(request)
    unstorable = sorted(k for k, v in request.query_params.items() if has_unstorable_text(v))
    if unstorable:
        raise ServiceError(
            "A filter contains a character that cannot be searched for (NUL).",
            code="validation_error",
            fields={name: "contains NUL" for name in unstorable},
        )
    filters = parse(workspace=workspace, params=request.query_params)
    if (
        filters.survey_id is not None
        and not workspace.surveys.filter(pk=filters.survey_id).exists()
    ):
        raise NotFound("No such survey in this workspace.", code="survey_not_found")
    return workspace, filters


@method_decorator(planned_per_call, name="dispatch")
class FiguresView(APIView):
    """An analytics read: its statements are planned for their own filters (a
    generic plan made for any period can be many times slower for this one)."""


def _label_locale(request: Request, workspace: Workspace) -> str:
    return normalize_locale(request.query_params.get("lang")) or workspace.default_locale


class FunnelApi(FiguresView):
    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses={200: OpenApiTypes.OBJECT, **FILTER_ERRORS},
        summary="Funnel and headline figures, with the change against the previous period",
    )
    def get(self, request: Request) -> Response:
        workspace, filters = request_filters(request)
        return Response(headline(workspace=workspace, filters=filters))


class ReasonsApi(FiguresView):
    @extend_schema(
        parameters=[
            *FILTER_PARAMETERS,
            OpenApiParameter("lang", str, description="Language of the labels."),
        ],
        responses={200: OpenApiTypes.OBJECT, **FILTER_ERRORS},
        summary="Answers by category and reason: count, share, change, saved",
    )
    def get(self, request: Request) -> Response:
        workspace, filters = request_filters(request)
        locale = _label_locale(request, workspace)
        return Response(reasons(workspace=workspace, filters=filters, locale=locale))


class TrendsApi(FiguresView):
    @extend_schema(
        parameters=[
            *FILTER_PARAMETERS,
            OpenApiParameter("interval", str, enum=["day", "week", "month"], default="week"),
        ],
        responses={200: OpenApiTypes.OBJECT, **FILTER_ERRORS},
        summary="Sessions, outcomes and reasons per week, month or day",
    )
    def get(self, request: Request) -> Response:
        workspace, filters = request_filters(request)
        interval = request.query_params.get("interval") or "week"
        return Response(trends(workspace=workspace, filters=filters, interval=interval))


class OffersApi(FiguresView):
    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses={200: OpenApiTypes.OBJECT, **FILTER_ERRORS},
        summary="Per offer: shown, accepted, save rate, MRR saved and discount cost",
    )
    def get(self, request: Request) -> Response:
        workspace, filters = request_filters(request)
        return Response(offer_performance(workspace=workspace, filters=filters))


class SavesApi(FiguresView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "horizon",
                {"type": "integer", "enum": [30, 60, 90], "minimum": 30, "maximum": 90},
                default=90,
                description="Days a save must last (and must have had) to count.",
            ),
            OpenApiParameter(
                "from",
                OpenApiTypes.DATE,
                description="First day of the saves counted (inclusive); default 365 days "
                "before 'to'.",
            ),
            *[p for p in FILTER_PARAMETERS if p.name != "from"],
        ],
        responses={200: OpenApiTypes.OBJECT, **FILTER_ERRORS},
        examples=[
            OpenApiExample(
                "Saves at 90 days",
                value={
                    "horizon": 90,
                    "from": "2025-03-02",
                    "to": "2026-03-01",
                    "saved": 120,
                    "matured": 80,
                    "retained": 62,
                    "rate": 0.775,
                    "by_offer": [
                        {
                            "offer": 3,
                            "name": "30% off for 3 months",
                            "kind": "discount_percent",
                            "saved": 90,
                            "matured": 60,
                            "retained": 45,
                            "rate": 0.75,
                        }
                    ],
                },
                response_only=True,
            )
        ],
        summary="Saves that last: of the sessions saved at least `horizon` days ago, how many "
        "were not cancelled within `horizon` days of the save; in total and per offer",
    )
    def get(self, request: Request) -> Response:
        horizon = horizon_parse(request.query_params.get("horizon"))
        workspace, filters = request_filters(request, parse=saves_filters)
        return Response(saves(workspace=workspace, filters=filters, horizon=horizon))


class BreakdownApi(FiguresView):
    @extend_schema(
        parameters=[
            *FILTER_PARAMETERS,
            OpenApiParameter("by", str, enum=["plan", "locale", "survey"], required=True),
        ],
        responses={200: OpenApiTypes.OBJECT, **FILTER_ERRORS},
        summary="Sessions and outcomes per plan, language or survey",
    )
    def get(self, request: Request) -> Response:
        workspace, filters = request_filters(request)
        by = request.query_params.get("by") or ""
        return Response(
            {
                "from": filters.date_from,
                "to": filters.date_to,
                "by": by,
                "rows": breakdown(workspace=workspace, filters=filters, by=by),
            }
        )


class VerbatimParams(serializers.Serializer):
    category = serializers.CharField(required=False, default="", allow_blank=True)
    reason = serializers.CharField(required=False, default="", allow_blank=True)
    outcome = serializers.ChoiceField(
        choices=["", "saved", "cancelled", "abandoned"], required=False, default=""
    )
    q = serializers.CharField(required=False, default="", allow_blank=True, max_length=200)
    limit = serializers.IntegerField(min_value=1, max_value=200, required=False, default=50)
    offset = serializers.IntegerField(min_value=0, max_value=INT_MAX, required=False, default=0)


class VerbatimsApi(FiguresView):
    @extend_schema(
        parameters=[*FILTER_PARAMETERS, VerbatimParams],
        responses={200: OpenApiTypes.OBJECT, **FILTER_ERRORS},
        summary="The customers' words behind the figures, newest first",
    )
    def get(self, request: Request) -> Response:
        workspace, filters = request_filters(request)
        params = VerbatimParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        p = params.validated_data
        found = verbatims(
            workspace=workspace,
            filters=filters,
            category=p["category"],
            reason=p["reason"],
            query=p["q"],
            outcome=p["outcome"],
        )
        page = verbatims_slice(found, p["offset"], p["offset"] + p["limit"])
        return Response(
            {
                "results": [
                    {
                        "response": r.pk,
                        "session": str(r.session_id),
                        "created_at": r.session.created_at,
                        "text": r.text,
                        "locale": r.locale,
                        "reason": r.reason_code,
                        "category": r.category_id,
                        "category_source": r.category_source,
                        "plan": r.session.plan,
                        "outcome": r.session.outcome,
                    }
                    for r in page
                ],
                "offset": p["offset"],
                "limit": p["limit"],
            }
        )


class SubscriberCountIn(serializers.Serializer):
    date = serializers.DateField(validators=[datetime_in_range])
    active = serializers.IntegerField(min_value=0, max_value=INT_MAX)
    new = serializers.IntegerField(min_value=0, max_value=INT_MAX)


class SubscriberCountsApi(APIView):
    @extend_schema(
        request=SubscriberCountIn,
        responses={201: OpenApiTypes.OBJECT, **error_responses(409, 422)},
        summary="Post the subscriber counts of a day (or a list of days); a day posted again "
        "is replaced",
    )
    def post(self, request: Request) -> Response:
        many = isinstance(request.data, list)
        data = SubscriberCountIn(data=request.data, many=many)
        data.is_valid(raise_exception=True)
        items: list[dict[str, Any]] = data.validated_data if many else [data.validated_data]
        stored = subscriber_counts_record(
            workspace=api_workspace(request),
            counts=[SubscriberCountInput(**item) for item in items],
        )
        body = [{"date": c.date, "active": c.active, "new": c.new} for c in stored]
        return Response(body if many else body[0], status=status.HTTP_201_CREATED)


class SessionsExportApi(APIView):
    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses={(200, "text/csv"): OpenApiTypes.STR, **FILTER_ERRORS},
        summary="Every session within the filters as CSV (streamed)",
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        workspace, filters = request_filters(request)
        return sessions_csv(workspace=workspace, filters=filters)
