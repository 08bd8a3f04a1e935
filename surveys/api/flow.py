"""The customer's flow API, by token: the survey and state, answer, accept an
offer, keep the subscription without one, cancel. Views validate, call a
service, serialise."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
)
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import Gone, NotFound
from config.limits import BIGINT_MAX, SMALLINT_MAX
from config.openapi import error_responses
from config.serializers import FlatInput
from config.throttling import FlowTokenThrottle
from surveys.locales import normalize_locale
from surveys.models import CancelSession
from surveys.presenters import offer_view
from surveys.selectors import flow_state, session_by_token, session_locale
from surveys.services import (
    session_accept,
    session_answer,
    session_cancel,
    session_keep,
)


class AnswerIn(FlatInput):
    reason = serializers.CharField(max_length=60)
    text = serializers.CharField(
        required=False, allow_blank=True, default="", trim_whitespace=True, max_length=None
    )


class AcceptIn(FlatInput):
    offer = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX)
    months = serializers.IntegerField(
        min_value=-SMALLINT_MAX,
        max_value=SMALLINT_MAX,
        required=False,
        allow_null=True,
        default=None,
        help_text="For a pause offer: how many months, within the offer's bounds (required).",
    )


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
    return {"status": session.status, "outcome": session.outcome, "kept": session.kept}


# --- Customer flow, by token --------------------------------------------------------


class FlowSessionOut(serializers.Serializer):
    id = serializers.UUIDField()
    locale = serializers.CharField()
    expires_at = serializers.DateTimeField()
    return_url = serializers.CharField(help_text="Where the customer goes back to; may be empty.")
    status = serializers.CharField()
    outcome = serializers.CharField(help_text="saved, cancelled, abandoned, or empty while open.")
    kept = serializers.BooleanField(help_text="Saved without an offer (kept the subscription).")


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
    kept = serializers.BooleanField(help_text="Saved without an offer (kept the subscription).")


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


class FlowKeepApi(FlowApi):
    @extend_schema(
        request=None,
        responses={200: StepOut, **error_responses(409, 410)},
        auth=[],
        summary="Keep the subscription without taking an offer (outcome saved, no offer)",
        description=(
            "The customer stays without an offer: the session ends with outcome "
            "`saved` and `offer` null in its `session.completed` webhook. Repeating it "
            "answers the same; after the session ended otherwise (cancelled, or an "
            "offer accepted) it is `409 session_completed`."
        ),
    )
    def post(self, request: Request, token: str) -> Response:
        session = session_keep(token=token)
        return Response({"offer": None, "state": state_out(session)})
