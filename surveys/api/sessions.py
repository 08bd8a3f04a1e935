"""Server API (v1) for cancel sessions: open one (honouring Idempotency-Key),
list them, read one. Views validate, call a service, serialise."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import NotFound, ServiceError
from config.limits import datetime_in_range
from config.openapi import error_response, error_responses, link, response_links
from config.serializers import FlatInput
from config.storable import has_unstorable_text
from surveys.models import CancelSession, SessionStatus
from surveys.selectors import sessions_for_workspace
from surveys.services import (
    CustomerInput,
    SubscriptionInput,
    request_fingerprint,
    session_open,
)
from workspaces.authentication import api_workspace

METADATA_MAX_BYTES = 8192


def session_url(session: CancelSession) -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/c/{session.token}/"


# --- Input --------------------------------------------------------------------------


class CustomerIn(FlatInput):
    id = serializers.CharField(max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class SubscriptionIn(FlatInput):
    id = serializers.CharField(max_length=200)
    plan = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    mrr_cents = serializers.IntegerField(min_value=0, max_value=10**12, required=False, default=0)
    currency = serializers.RegexField(
        r"^[A-Za-z]{3}$", required=False, allow_blank=True, default=""
    )
    started_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, validators=[datetime_in_range]
    )
    current_period_end = serializers.DateTimeField(
        required=False, allow_null=True, default=None, validators=[datetime_in_range]
    )


class HttpUrlField(serializers.URLField):
    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value and not value.lower().startswith(("http://", "https://")):
            raise serializers.ValidationError("Use an http:// or https:// address.")
        return value


class SessionIn(FlatInput):
    customer = CustomerIn()
    subscription = SubscriptionIn()
    locale = serializers.CharField(max_length=35, required=False, allow_blank=True, default="")
    return_url = HttpUrlField(max_length=2000, required=False, allow_blank=True, default="")
    metadata = serializers.DictField(required=False, default=dict)

    def validate_metadata(self, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value, default=str)) > METADATA_MAX_BYTES:
            raise serializers.ValidationError(f"At most {METADATA_MAX_BYTES} bytes of JSON.")
        if has_unstorable_text(value):
            raise serializers.ValidationError("No NUL characters or lone surrogates.")
        return value


# --- Output -------------------------------------------------------------------------


class CreatedSessionOut(serializers.Serializer):
    id = serializers.UUIDField()
    token = serializers.CharField()
    url = serializers.SerializerMethodField()
    status = serializers.CharField()
    expires_at = serializers.DateTimeField(source="token_expires_at")

    def get_url(self, session: CancelSession) -> str:
        return session_url(session)


class SessionCustomerOut(serializers.Serializer):
    id = serializers.CharField()
    email = serializers.CharField()
    name = serializers.CharField()


class SessionSubscriptionOut(serializers.Serializer):
    id = serializers.CharField()
    plan = serializers.CharField()
    mrr_cents = serializers.IntegerField()
    currency = serializers.CharField()


class SessionAnswerOut(serializers.Serializer):
    reason = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    category = serializers.CharField(allow_null=True)
    category_source = serializers.CharField()
    text = serializers.CharField()
    locale = serializers.CharField()


class SessionOut(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    outcome = serializers.CharField(help_text="saved, cancelled, abandoned, or empty while open.")
    kept = serializers.BooleanField(
        help_text="Saved without taking an offer: the customer chose to keep their subscription."
    )
    url = serializers.SerializerMethodField()
    expires_at = serializers.DateTimeField(source="token_expires_at")
    created_at = serializers.DateTimeField()
    answered_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    locale = serializers.CharField()
    customer = serializers.SerializerMethodField()
    subscription = serializers.SerializerMethodField()
    answer = serializers.SerializerMethodField()
    offer_id = serializers.IntegerField(allow_null=True, help_text="The offer shown, if any.")
    metadata = serializers.DictField()

    def get_url(self, session: CancelSession) -> str:
        return session_url(session)

    @extend_schema_field(SessionCustomerOut)
    def get_customer(self, session: CancelSession) -> dict[str, str]:
        return {
            "id": session.customer_id,
            "email": session.customer_email,
            "name": session.customer_name,
        }

    @extend_schema_field(SessionSubscriptionOut)
    def get_subscription(self, session: CancelSession) -> dict[str, Any]:
        return {
            "id": session.subscription_id,
            "plan": session.plan,
            "mrr_cents": session.mrr_cents,
            "currency": session.currency,
        }

    @extend_schema_field(SessionAnswerOut(allow_null=True))
    def get_answer(self, session: CancelSession) -> dict[str, Any] | None:
        response = getattr(session, "response", None)
        if response is None:
            return None
        return {
            "reason": response.reason_code,
            "label": response.reason_label,
            "category": response.category_id,
            "category_source": response.category_source,
            "text": response.text,
            "locale": response.locale,
        }


# --- Server API: sessions -----------------------------------------------------------


class SessionCursor(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50
    max_page_size = 200
    page_size_query_param = "limit"

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        # The document states the page size's bounds (a larger one is cut to 200).
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update({"minimum": 1, "maximum": self.max_page_size})
        return parameters


class SessionListParams(serializers.Serializer):
    status = serializers.ChoiceField(choices=SessionStatus.choices, required=False)
    since = serializers.DateTimeField(required=False)


def open_response(
    request: Request, data: dict[str, Any], *, source: str, workspace: Any, body: Any
) -> Response:
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > 200:
        raise ServiceError("Idempotency-Key is at most 200 characters.", code="invalid_header")
    customer = data["customer"]
    subscription = data["subscription"]
    opened = session_open(
        workspace=workspace,
        customer=CustomerInput(**customer),
        subscription=SubscriptionInput(**subscription),
        locale=data["locale"],
        return_url=data["return_url"],
        metadata=data["metadata"],
        idempotency_key=key,
        fingerprint=request_fingerprint(body) if key else "",
        source=source,
    )
    session = opened.session
    return Response(
        # CreatedSessionOut's fields, copied without the serializer (the renderer
        # writes the datetime as the serializer would).
        {
            "id": str(session.pk),
            "token": session.token,
            "url": session_url(session),
            "status": session.status,
            "expires_at": session.token_expires_at,
        },
        status=status.HTTP_201_CREATED if opened.created else status.HTTP_200_OK,
    )


SESSION_LINKS = response_links(
    session=link("v1_sessions_retrieve", "The session.", session_id="$response.body#/id"),
    flow=link("v1_flow_retrieve", "The customer's survey.", token="$response.body#/token"),
    answer=link("v1_flow_answer_create", "Answer the survey.", token="$response.body#/token"),
    accept=link("v1_flow_accept_create", "Accept the offer.", token="$response.body#/token"),
    keep=link(
        "v1_flow_keep_create",
        "Keep the subscription without an offer.",
        token="$response.body#/token",
    ),
    cancel=link("v1_flow_cancel_create", "Cancel.", token="$response.body#/token"),
)


class SessionListCreateApi(APIView):
    pagination_class = SessionCursor

    @extend_schema(
        request=SessionIn,
        responses={
            201: OpenApiResponse(CreatedSessionOut, description="A new session."),
            200: OpenApiResponse(
                CreatedSessionOut,
                description="The session already open for this subscription, or the one "
                "opened earlier with this Idempotency-Key.",
            ),
            **error_responses(409),
        },
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        examples=[
            OpenApiExample(
                "A customer on the Pro plan",
                value={
                    "customer": {"id": "cus_123", "email": "ada@example.com", "name": "Ada"},
                    "subscription": {
                        "id": "sub_123",
                        "plan": "Pro",
                        "mrr_cents": 4900,
                        "currency": "USD",
                    },
                    "locale": "en",
                    "return_url": "https://app.example.com/account",
                    "metadata": {"seats": 3},
                },
                request_only=True,
            )
        ],
        summary="Open a cancel session (or get the one open for this subscription)",
        extensions=SESSION_LINKS,
    )
    def post(self, request: Request) -> Response:
        serializer = SessionIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        return open_response(
            request,
            serializer.validated_data,
            source="api",
            workspace=api_workspace(request),
            body=request.data,
        )

    @extend_schema(
        parameters=[SessionListParams],
        responses={
            200: SessionOut(many=True),
            404: OpenApiResponse(error_response(404).response, description="Invalid cursor."),
        },
        summary="List sessions, newest first (cursor paginated: follow `next`)",
    )
    def get(self, request: Request) -> Response:
        params = SessionListParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        queryset = sessions_for_workspace(
            workspace=api_workspace(request),
            status=params.validated_data.get("status"),
            since=params.validated_data.get("since"),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(SessionOut(page, many=True).data)


class SessionDetailApi(APIView):
    @extend_schema(responses=SessionOut, summary="Get one session")
    def get(self, request: Request, session_id: str) -> Response:
        session = (
            sessions_for_workspace(workspace=api_workspace(request)).filter(pk=session_id).first()
        )
        if session is None:
            raise NotFound("No such session in this workspace.")
        return Response(SessionOut(session).data)
