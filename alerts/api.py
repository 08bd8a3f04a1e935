"""Webhook endpoints and deliveries API (v1). Views validate, call a service,
serialise."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.models import EventType, WebhookEndpoint
from alerts.selectors import deliveries_for_workspace, webhook_endpoints_for_workspace
from alerts.services import webhook_endpoint_create, webhook_endpoint_delete
from config.openapi import error_responses, link, response_links
from outbound.models import Delivery, DeliveryStatus
from outbound.services import delivery_retry
from workspaces.authentication import api_workspace


class EndpointIn(serializers.Serializer):
    url = serializers.URLField(max_length=2000)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.values),
        required=False,
        default=list,
        help_text="Event types to receive; empty or missing = all.",
    )

    def validate_url(self, value: str) -> str:
        if not value.lower().startswith(("http://", "https://")):
            raise serializers.ValidationError("Use an http:// or https:// address.")
        return value


class EndpointOut(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "is_enabled", "disabled_reason", "created_at"]


class CreatedEndpointOut(EndpointOut):
    class Meta(EndpointOut.Meta):
        fields = [*EndpointOut.Meta.fields, "secret"]


class WebhookEndpointListApi(APIView):
    @extend_schema(
        request=EndpointIn,
        responses={201: CreatedEndpointOut, **error_responses(422)},
        examples=[
            OpenApiExample(
                "Completed sessions only",
                value={
                    "url": "https://hooks.example.com/cancel-flow",
                    "events": ["session.completed"],
                },
                request_only=True,
            )
        ],
        summary="Register a webhook endpoint (the secret is shown once)",
        extensions=response_links(
            delete=link("v1_webhook_endpoints_destroy", endpoint_id="$response.body#/id")
        ),
    )
    def post(self, request: Request) -> Response:
        data = EndpointIn(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = webhook_endpoint_create(workspace=api_workspace(request), **data.validated_data)
        return Response(CreatedEndpointOut(endpoint).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=EndpointOut(many=True), summary="List webhook endpoints")
    def get(self, request: Request) -> Response:
        endpoints = webhook_endpoints_for_workspace(workspace=api_workspace(request))
        return Response(EndpointOut(endpoints, many=True).data)


class WebhookEndpointDetailApi(APIView):
    @extend_schema(responses={204: None}, summary="Delete a webhook endpoint")
    def delete(self, request: Request, endpoint_id: int) -> Response:
        webhook_endpoint_delete(workspace=api_workspace(request), endpoint_id=endpoint_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AttemptOut(serializers.Serializer):
    number = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    duration_ms = serializers.IntegerField()
    ok = serializers.BooleanField()
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()


class DeliveryOut(serializers.ModelSerializer):
    event_id = serializers.CharField(source="event.event_id")
    event_type = serializers.CharField(source="event.event_type")
    target = serializers.CharField()
    attempt_log = AttemptOut(many=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "kind",
            "event_id",
            "event_type",
            "target",
            "status",
            "attempts",
            "next_attempt_at",
            "last_error",
            "created_at",
            "sent_at",
            "attempt_log",
        ]


class DeliveryListParams(serializers.Serializer):
    status = serializers.ChoiceField(choices=DeliveryStatus.values, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=200, required=False, default=50)


class DeliveryListApi(APIView):
    @extend_schema(
        parameters=[DeliveryListParams],
        responses=DeliveryOut(many=True),
        summary="List outbound deliveries (e.g. ?status=dead), newest first",
    )
    def get(self, request: Request) -> Response:
        params = DeliveryListParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        found = deliveries_for_workspace(
            workspace=api_workspace(request), status=params.validated_data.get("status")
        )[: params.validated_data["limit"]]
        return Response(DeliveryOut(found, many=True).data)


class DeliveryRetryApi(APIView):
    @extend_schema(
        request=None,
        responses={202: DeliveryOut, **error_responses(409)},
        summary="Retry a dead delivery",
    )
    def post(self, request: Request, delivery_id: int) -> Response:
        workspace = api_workspace(request)
        delivery_retry(workspace=workspace, delivery_id=delivery_id)
        found: Any = deliveries_for_workspace(workspace=workspace).get(pk=delivery_id)
        return Response(DeliveryOut(found).data, status=status.HTTP_202_ACCEPTED)
