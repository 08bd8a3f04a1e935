"""Sessions and flow API (v1). Views validate, call a service, serialise."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.utils.translation import gettext
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import Gone, NotFound, ServiceError
from config.limits import BIGINT_MAX, SMALLINT_MAX, datetime_in_range
from config.openapi import error_response, error_responses, link, response_links
from config.storable import has_unstorable_text
from config.throttling import FlowTokenThrottle, WidgetThrottle
from surveys.locales import normalize_locale
from surveys.models import CancelSession, SessionStatus
from surveys.presenters import offer_view
from surveys.selectors import flow_state, session_by_token, session_locale, sessions_for_workspace
from surveys.services import (
    CustomerInput,
    SubscriptionInput,
    request_fingerprint,
    session_accept,
    session_answer,
    session_cancel,
    session_open,
)
from workspaces.authentication import api_workspace
from workspaces.identity import (
    WIDGET_PAYLOAD_MAX_CHARS,
    widget_identity_verify,
    widget_timestamp_check,
)

METADATA_MAX_BYTES = 8192


def session_url(session: CancelSession) -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/c/{session.token}/"


# --- Input --------------------------------------------------------------------------


class CustomerIn(serializers.Serializer):
    id = serializers.CharField(max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class SubscriptionIn(serializers.Serializer):
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


class SessionIn(serializers.Serializer):
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


class WidgetSessionIn(serializers.Serializer):
    """Exactly these three keys: everything else travels inside the signed payload."""

    workspace = serializers.CharField(max_length=40, help_text="The workspace's public id.")
    payload = serializers.RegexField(
        r"^[A-Za-z0-9_-]+={0,2}$",
        max_length=WIDGET_PAYLOAD_MAX_CHARS,
        help_text="base64url of the JSON body of POST /api/v1/sessions plus `timestamp`.",
    )
    signature = serializers.RegexField(
        r"^[0-9a-fA-F]{64}$",
        help_text="Hex HMAC-SHA256 of the payload string with the identity secret.",
    )

    def to_internal_value(self, data: Any) -> Any:
        unexpected = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            if not unexpected or not isinstance(error.detail, dict):
                raise
            raise serializers.ValidationError({**error.detail, **_unexpected(unexpected)}) from None
        if unexpected:
            raise serializers.ValidationError(_unexpected(unexpected))
        return value


def _unexpected(keys: list[str]) -> dict[str, str]:
    message = gettext("Unexpected field: put it inside the signed payload.")
    return {str(key): message for key in keys}


class WidgetPayloadIn(SessionIn):
    """What the widget's payload decodes to: the API's session body, and when it
    was signed."""

    timestamp = serializers.IntegerField(
        min_value=0, max_value=2**40, help_text="When it was signed (Unix seconds)."
    )


def _dotted(prefix: str, detail: Any) -> dict[str, Any]:
    """Nested serializer errors as ``{"payload.subscription.plan": [...]}``."""
    if isinstance(detail, dict):
        flat: dict[str, Any] = {}
        for key, value in detail.items():
            flat.update(_dotted(f"{prefix}.{key}", value))
        return flat
    return {prefix: detail}


class AnswerIn(serializers.Serializer):
    reason = serializers.CharField(max_length=60)
    text = serializers.CharField(
        required=False, allow_blank=True, default="", trim_whitespace=True, max_length=None
    )


class AcceptIn(serializers.Serializer):
    offer = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX)
    months = serializers.IntegerField(
        min_value=-SMALLINT_MAX,
        max_value=SMALLINT_MAX,
        required=False,
        allow_null=True,
        default=None,
        help_text="For a pause offer: how many months, within the offer's bounds (required).",
    )


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
    url = serializers.SerializerMethodField()
    expires_at = serializers.DateTimeField(source="token_expires_at")
    created_at = serializers.DateTimeField()
    answered_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    locale = serializers.CharField()
    customer = serializers.SerializerMethodField()
    subscription = serializers.SerializerMethodField()
    answer = serializers.SerializerMethodField()
    offer_id = serializers.IntegerField(allow_null=True)
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


def offer_out(offer_view: Any) -> dict[str, Any] | None:
    if offer_view is None:
        return None
    return {
        "id": offer_view.id,
        "kind": offer_view.kind,
        "title": offer_view.title,
        "body": offer_view.body,
        "terms_text": offer_view.terms_text,
        "summary": offer_view.summary,
        "details": list(offer_view.details),
        "terms": offer_view.terms,
        "pause_choices": [
            {"months": c.months, "until": c.until, "label": c.label}
            for c in offer_view.pause_choices
        ],
        "accept_label": offer_view.accept_label,
    }


def state_out(session: CancelSession) -> dict[str, Any]:
    return {"status": session.status, "outcome": session.outcome}


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


def _open(
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
    return Response(
        CreatedSessionOut(opened.session).data,
        status=status.HTTP_201_CREATED if opened.created else status.HTTP_200_OK,
    )


SESSION_LINKS = response_links(
    session=link("v1_sessions_retrieve", "The session.", session_id="$response.body#/id"),
    flow=link("v1_flow_retrieve", "The customer's survey.", token="$response.body#/token"),
    answer=link("v1_flow_answer_create", "Answer the survey.", token="$response.body#/token"),
    accept=link("v1_flow_accept_create", "Accept the offer.", token="$response.body#/token"),
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
        return _open(
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


# --- Widget: browser-opened sessions with a signed identity -------------------------


class WidgetSessionCreateApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [WidgetThrottle]  # per IP, then per workspace

    @extend_schema(
        request=WidgetSessionIn,
        responses={
            201: CreatedSessionOut,
            200: CreatedSessionOut,
            401: OpenApiResponse(
                error_response(401).response,
                description="The identity signature does not match, is too old or is dated ahead.",
            ),
            **error_responses(409, 422),
        },
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        auth=[],
        summary="Open a cancel session from the browser widget (signed by the host's server)",
        extensions=SESSION_LINKS,
    )
    def post(self, request: Request) -> Response:
        outer = WidgetSessionIn(data=request.data)
        outer.is_valid(raise_exception=True)
        workspace, body = widget_identity_verify(
            workspace_public_id=outer.validated_data["workspace"],
            payload=outer.validated_data["payload"],
            signature=outer.validated_data["signature"],
        )
        inner = WidgetPayloadIn(data=body)
        if not inner.is_valid():
            raise serializers.ValidationError(_dotted("payload", inner.errors))
        widget_timestamp_check(timestamp=inner.validated_data["timestamp"])
        # The key's fingerprint is the session body, not the signature: a retry
        # signed again (a new timestamp) is the same request.
        session_body = {key: value for key, value in body.items() if key != "timestamp"}
        return _open(
            request,
            inner.validated_data,
            source="widget",
            workspace=workspace,
            body=session_body,
        )


# --- Customer flow, by token --------------------------------------------------------


class FlowSessionOut(serializers.Serializer):
    id = serializers.UUIDField()
    locale = serializers.CharField()
    expires_at = serializers.DateTimeField()
    return_url = serializers.CharField(help_text="Where the customer goes back to; may be empty.")
    status = serializers.CharField()
    outcome = serializers.CharField(help_text="saved, cancelled, abandoned, or empty while open.")


class FlowReasonOut(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    category = serializers.CharField()
    follow_up = serializers.CharField()
    text_mode = serializers.CharField(help_text="none, optional or required.")


class FlowSurveyOut(serializers.Serializer):
    question = serializers.CharField()
    reasons = FlowReasonOut(many=True)


class FlowAnswerOut(serializers.Serializer):
    reason = serializers.CharField()
    text = serializers.CharField()
    category = serializers.CharField()


class PauseChoiceOut(serializers.Serializer):
    months = serializers.IntegerField()
    until = serializers.DateField()
    label = serializers.CharField()  # type: ignore[assignment]


class FlowOfferOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    title = serializers.CharField()
    body = serializers.CharField()
    terms_text = serializers.CharField()
    summary = serializers.CharField()
    details = serializers.ListField(child=serializers.CharField())
    terms = serializers.DictField()
    pause_choices = PauseChoiceOut(many=True)
    accept_label = serializers.CharField()


class FlowStateOut(serializers.Serializer):
    status = serializers.CharField()
    outcome = serializers.CharField()


class FlowOut(serializers.Serializer):
    session = FlowSessionOut()
    survey = FlowSurveyOut()
    answer = FlowAnswerOut(allow_null=True)
    offer = FlowOfferOut(allow_null=True)


class StepOut(serializers.Serializer):
    offer = FlowOfferOut(allow_null=True, help_text="The offer to show, if any (one at most).")
    state = FlowStateOut()


class AcceptedOfferOut(serializers.Serializer):
    id = serializers.IntegerField()
    terms = serializers.DictField(help_text="The terms accepted (a pause: with its months).")


class AcceptStepOut(serializers.Serializer):
    offer = AcceptedOfferOut()
    state = FlowStateOut()


def _session_or_404(token: str) -> CancelSession:
    session = session_by_token(token=token)
    if session is None:
        raise NotFound("This cancel link is not valid.", code="session_not_found")
    return session


class FlowApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [FlowTokenThrottle]  # POSTs only, per token


class FlowStateApi(FlowApi):
    @extend_schema(
        responses={200: FlowOut, **error_responses(410)},
        parameters=[OpenApiParameter("locale", str)],
        auth=[],
        summary="The localised survey and the session's state",
    )
    def get(self, request: Request, token: str) -> Response:
        session = _session_or_404(token)
        locale = normalize_locale(request.query_params.get("locale")) or session_locale(
            session, request.headers.get("Accept-Language")
        )
        state = flow_state(session=session, locale=locale)
        if state.expired and session.is_open:
            raise Gone("This cancel link has expired. Please start again.", code="session_expired")
        answer = state.answer
        return Response(
            {
                "session": {
                    "id": str(session.pk),
                    "locale": locale,
                    "expires_at": session.token_expires_at,
                    "return_url": session.return_url,
                    **state_out(session),
                },
                "survey": {
                    "question": state.question,
                    "reasons": [reason.__dict__ for reason in state.reasons],
                },
                "answer": (
                    {
                        "reason": answer.reason_code,
                        "text": answer.text,
                        "category": answer.category_id,
                    }
                    if answer
                    else None
                ),
                "offer": offer_out(state.offer),
            }
        )


class FlowAnswerApi(FlowApi):
    @extend_schema(
        request=AnswerIn,
        responses={200: StepOut, **error_responses(409, 410, 422)},
        examples=[
            OpenApiExample(
                "Too expensive",
                value={"reason": "too_expensive", "text": "Too much for a team of three."},
                request_only=True,
            )
        ],
        auth=[],
        summary="Answer the survey",
    )
    def post(self, request: Request, token: str) -> Response:
        serializer = AnswerIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        session = session_answer(
            token=token,
            reason_code=serializer.validated_data["reason"],
            text=serializer.validated_data["text"],
        )
        locale = session.locale or session.workspace.default_locale
        offer = (
            offer_view(session.offer, locale=locale, currency=session.currency, session=session)
            if session.offer is not None
            else None
        )
        return Response({"offer": offer_out(offer), "state": state_out(session)})


class FlowAcceptApi(FlowApi):
    @extend_schema(
        request=AcceptIn,
        responses={200: AcceptStepOut, **error_responses(409, 410, 422)},
        auth=[],
        summary="Accept the offer shown (a pause also takes the months chosen)",
    )
    def post(self, request: Request, token: str) -> Response:
        serializer = AcceptIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        session = session_accept(
            token=token,
            offer_id=serializer.validated_data["offer"],
            months=serializer.validated_data["months"],
        )
        return Response(
            {
                "offer": {"id": session.offer_id, "terms": session.accepted_terms},
                "state": state_out(session),
            }
        )


class FlowCancelApi(FlowApi):
    @extend_schema(
        request=None,
        responses={200: StepOut, **error_responses(409, 410)},
        auth=[],
        summary="Cancel the subscription",
    )
    def post(self, request: Request, token: str) -> Response:
        session = session_cancel(token=token)
        return Response({"offer": None, "state": state_out(session)})
