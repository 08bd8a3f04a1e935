"""The browser widget's session endpoint: the host's server signs the whole
session body (workspaces.identity); nothing outside the signed payload is kept."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.openapi import error_response, error_responses
from config.throttling import WidgetThrottle
from surveys.api.sessions import SESSION_LINKS, CreatedSessionOut, SessionIn, open_response
from workspaces.identity import (
    WIDGET_PAYLOAD_MAX_CHARS,
    widget_identity_verify,
    widget_timestamp_check,
)


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


# --- Widget: browser-opened sessions with a signed identity -------------------------


class WidgetSessionCreateApi(APIView):
    """Called by the widget script from the host's page, so answered to any origin
    (CORS ``*``): the request carries no cookie and no key, and what it may do is
    decided by the signature alone."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [WidgetThrottle]  # per IP, then per workspace

    def get_throttles(self) -> list[Any]:
        # A browser's preflight is not a request to open a session.
        return [] if self.request.method == "OPTIONS" else super().get_throttles()

    def options(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        return Response(status=204)

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Access-Control-Allow-Origin"] = "*"
        if request.method == "OPTIONS":
            response["Access-Control-Allow-Methods"] = "POST"
            response["Access-Control-Allow-Headers"] = "Content-Type, Idempotency-Key"
            response["Access-Control-Max-Age"] = "7200"
        return response

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
        return open_response(
            request,
            inner.validated_data,
            source="widget",
            workspace=workspace,
            body=session_body,
        )
