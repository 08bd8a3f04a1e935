"""Categorisation API (v1): categorise texts, the review queue, manual labels,
and which competitors customers name. Views validate, call a service, serialise."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.openapi import error_responses
from config.throttling import ApiKeyRateThrottle, CategorizeRateThrottle
from surveys.models import Competitor
from surveys.selectors import competitor_counts, review_queue
from surveys.services import categorize_texts, response_relabel
from surveys.taxonomy import CATEGORIES
from workspaces.authentication import api_workspace

MAX_TEXTS = 100


class CategorizeIn(serializers.Serializer):
    texts = serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=True),
        min_length=1,
        max_length=MAX_TEXTS,
    )
    locale = serializers.CharField(required=False, allow_blank=True, max_length=35)

    def validate_texts(self, texts: list[str]) -> list[str]:
        limit = settings.RESPONSE_TEXT_MAX_LENGTH
        too_long = [i for i, text in enumerate(texts) if len(text) > limit]
        if too_long:
            raise serializers.ValidationError(
                f"texts {too_long[:10]} are longer than {limit} characters"
            )
        return texts


class CategorizationOut(serializers.Serializer):
    category = serializers.CharField()
    confidence = serializers.FloatField()
    source = serializers.CharField(help_text="rule, model, or none (no match: other)")  # type: ignore[assignment]
    needs_review = serializers.BooleanField()
    competitors = serializers.ListField(child=serializers.CharField())


class CategorizeApi(APIView):
    throttle_classes = [ApiKeyRateThrottle, CategorizeRateThrottle]

    @staticmethod
    def max_body_bytes() -> int:
        """Room for every text at its longest, each character \\u-escaped."""
        return MAX_TEXTS * (settings.RESPONSE_TEXT_MAX_LENGTH * 6 + 8) + 4096

    @extend_schema(
        request=CategorizeIn,
        responses=CategorizationOut(many=True),
        examples=[
            OpenApiExample(
                "English and Chinese",
                value={"texts": ["Too expensive for us", "功能太复杂了"]},
                request_only=True,
            )
        ],
        summary="Categorise free-text answers (as the cancel flow would)",
    )
    def post(self, request: Request) -> Response:
        data = CategorizeIn(data=request.data)
        data.is_valid(raise_exception=True)
        workspace = api_workspace(request)
        results = categorize_texts(workspace=workspace, texts=data.validated_data["texts"])
        names = dict(Competitor.objects.filter(workspace=workspace).values_list("pk", "name"))
        return Response(
            [
                {
                    "category": r.category,
                    "confidence": r.confidence,
                    "source": r.source,
                    "needs_review": r.needs_review,
                    "competitors": [names[c] for c in r.competitors if c in names],
                }
                for r in results
            ]
        )


class ReviewItemOut(serializers.Serializer):
    id = serializers.IntegerField()
    session = serializers.UUIDField(source="session_id")
    text = serializers.CharField()
    locale = serializers.CharField()
    reason = serializers.CharField(source="reason_code")
    category = serializers.CharField(source="category_id")
    confidence = serializers.FloatField(source="category_confidence")
    source = serializers.CharField(source="category_source")  # type: ignore[assignment]
    created_at = serializers.DateTimeField()


class ReviewQueueApi(APIView):
    @extend_schema(
        responses=ReviewItemOut(many=True),
        summary="Answers categorised with low confidence, for a person to label",
    )
    def get(self, request: Request) -> Response:
        items = review_queue(workspace=api_workspace(request))
        return Response(ReviewItemOut(items, many=True).data)


class LabelIn(serializers.Serializer):
    category = serializers.ChoiceField(choices=list(CATEGORIES))


class ResponseLabelApi(APIView):
    @extend_schema(
        request=LabelIn,
        responses={200: ReviewItemOut, **error_responses(422)},
        summary="Set an answer's category by hand (it wins, and the model learns from it)",
    )
    def post(self, request: Request, response_id: int) -> Response:
        data = LabelIn(data=request.data)
        data.is_valid(raise_exception=True)
        response = response_relabel(
            workspace=api_workspace(request),
            response_id=response_id,
            category_code=data.validated_data["category"],
        )
        return Response(ReviewItemOut(response).data)


class CompetitorCountsParams(serializers.Serializer):
    """``?from=…&to=…`` (ISO 8601); "from" is a Python keyword, hence get_fields."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            "from": serializers.DateTimeField(required=False),
            "to": serializers.DateTimeField(required=False),
        }


class CompetitorCountOut(serializers.Serializer):
    id = serializers.IntegerField()
    competitor = serializers.CharField()
    mentions = serializers.IntegerField()


class CompetitorCountsApi(APIView):
    @extend_schema(
        parameters=[CompetitorCountsParams],
        responses=CompetitorCountOut(many=True),
        summary="Which competitors customers name when they leave, most named first",
    )
    def get(self, request: Request) -> Response:
        params = CompetitorCountsParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        counts = competitor_counts(
            workspace=api_workspace(request),
            since=params.validated_data.get("from"),
            until=params.validated_data.get("to"),
        )
        return Response(CompetitorCountOut(counts, many=True).data)
