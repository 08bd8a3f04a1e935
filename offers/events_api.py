"""What happened to subscriptions later: posted by the host, or sent by Stripe
(``offers.subscription_events``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import NotFound
from config.limits import datetime_in_range
from config.openapi import error_responses
from offers.models import SubscriptionEventType
from offers.subscription_events import (
    SubscriptionEventInput,
    stripe_webhook_receive,
    subscription_event_record,
)
from workspaces.authentication import api_workspace
from workspaces.models import Workspace


class SubscriptionEventIn(serializers.Serializer):
    id = serializers.CharField(
        max_length=200, help_text="Your id for this event: posting it again changes nothing."
    )
    subscription = serializers.CharField(
        max_length=200, help_text="The subscription's id, as sessions are opened with it."
    )
    type = serializers.ChoiceField(choices=SubscriptionEventType.values)
    occurred_at = serializers.DateTimeField(validators=[datetime_in_range])


class SubscriptionEventOut(serializers.Serializer):
    id = serializers.CharField(source="event_id")
    subscription = serializers.CharField(source="subscription_id")
    type = serializers.ChoiceField(choices=SubscriptionEventType.values)
    occurred_at = serializers.DateTimeField()
    # DRF takes declared fields out of the class, so this does not shadow Field.source.
    source = serializers.ChoiceField(choices=["api", "stripe"])  # type: ignore[assignment]
    received_at = serializers.DateTimeField(source="created_at")


class SubscriptionEventsApi(APIView):
    @extend_schema(
        request=SubscriptionEventIn,
        responses={
            201: OpenApiResponse(SubscriptionEventOut, description="Recorded."),
            200: OpenApiResponse(
                SubscriptionEventOut, description="Recorded before with this id and body."
            ),
            **error_responses(409),
        },
        examples=[
            OpenApiExample(
                "A saved customer cancels two months later",
                value={
                    "id": "evt_1001",
                    "subscription": "sub_123",
                    "type": "cancelled",
                    "occurred_at": "2026-03-01T10:00:00Z",
                },
                request_only=True,
            )
        ],
        summary="Tell what happened to a subscription later (cancelled, reactivated, "
        "renewed, payment failed); idempotent on id",
    )
    def post(self, request: Request) -> Response:
        data = SubscriptionEventIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        event, created = subscription_event_record(
            workspace=api_workspace(request),
            event=SubscriptionEventInput(
                id=v["id"],
                subscription=v["subscription"],
                type=v["type"],
                occurred_at=v["occurred_at"],
            ),
        )
        return Response(
            SubscriptionEventOut(event).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class StripeWebhookOut(serializers.Serializer):
    received = serializers.BooleanField()
    recorded = SubscriptionEventOut(allow_null=True)


class StripeWebhookApi(APIView):
    """Stripe's ``customer.subscription.deleted`` and ``.updated`` for one workspace.
    No API key: the Stripe-Signature header, verified with the workspace's signing
    secret, is the credential."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[
        Any
    ] = []  # Stripe retries what is refused; a bad signature costs one HMAC

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter(
                "Stripe-Signature",
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="Stripe's signature of the body (t=…,v1=…).",
            )
        ],
        responses={200: StripeWebhookOut},
        auth=[],
        examples=[
            OpenApiExample(
                "A subscription deleted",
                value={
                    "id": "evt_1",
                    "type": "customer.subscription.deleted",
                    "created": 1767225600,
                    "data": {"object": {"id": "sub_123", "object": "subscription"}},
                },
                request_only=True,
            )
        ],
        summary="Stripe webhook: subscriptions cancelled, reactivated, renewed or failing "
        "to pay (signed with the workspace's signing secret)",
    )
    def post(self, request: Request, workspace_id: str) -> Response:
        workspace = Workspace.objects.filter(public_id=workspace_id[:40]).first()
        if workspace is None:
            raise NotFound("No such workspace.", code="workspace_not_found")
        event = stripe_webhook_receive(
            workspace=workspace,
            payload=request.body,
            signature=request.headers.get("Stripe-Signature", ""),
        )
        return Response(
            {
                "received": True,
                "recorded": SubscriptionEventOut(event).data if event is not None else None,
            }
        )
