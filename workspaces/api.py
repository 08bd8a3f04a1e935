"""The workspace's own settings (v1): ``GET`` and ``PATCH /api/v1/workspace``.

An API key acts as its workspace. One serializer describes the settings; the
fields that are not read-only are the ones ``PATCH`` may change, each passed to
``workspace_update`` by name, so a new setting is one field here and one
argument there.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from workspaces.authentication import api_workspace
from workspaces.models import Workspace
from workspaces.origins import MAX_ORIGIN_LENGTH, InvalidOrigins, origins_normalize
from workspaces.services import workspace_update

SETTINGS_READ_ONLY = [
    "public_id",
    "name",
    "slug",
    "time_zone",
    "default_locale",
    "currency",
    "offer_cooldown_days",
    "compliance_mode",
    "send_confirmation_email",
    "stripe_enabled",
]
# What PATCH may change: each is an argument of workspace_update.
SETTINGS_WRITABLE = ["allowed_origins"]


class OriginListField(serializers.ListField):
    """Origins like ``https://app.example.com``; normalised, errors by index."""

    child = serializers.CharField(max_length=MAX_ORIGIN_LENGTH, trim_whitespace=True)

    def to_internal_value(self, data: Any) -> list[str]:
        values = super().to_internal_value(data)
        try:
            return origins_normalize(values)
        except InvalidOrigins as error:
            raise serializers.ValidationError(
                {
                    str(index) if index is not None else "non_field_errors": reason
                    for index, reason in error.errors.items()
                }
            ) from None


class WorkspaceSettings(serializers.ModelSerializer):
    """What a workspace's API key may read about it (never a secret), and change."""

    allowed_origins = OriginListField(
        help_text=(
            "Origins (scheme://host[:port]) of your product. When any are set, a "
            "session's return_url must be on one of them."
        ),
    )

    class Meta:
        model = Workspace
        fields = [*SETTINGS_READ_ONLY, *SETTINGS_WRITABLE]
        read_only_fields = SETTINGS_READ_ONLY

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            refused = sorted(key for key in data if key not in SETTINGS_WRITABLE)
            if refused:
                message = gettext("This setting cannot be changed through the API.")
                raise serializers.ValidationError({str(key): message for key in refused})
        return super().to_internal_value(data)


class WorkspaceApi(APIView):
    @extend_schema(responses={200: WorkspaceSettings}, summary="This workspace's settings")
    def get(self, request: Request) -> Response:
        return Response(WorkspaceSettings(api_workspace(request)).data)

    @extend_schema(
        request=WorkspaceSettings(partial=True),
        responses={200: WorkspaceSettings},
        summary="Change this workspace's settings",
    )
    def patch(self, request: Request) -> Response:
        workspace = api_workspace(request)
        serializer = WorkspaceSettings(workspace, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        workspace = workspace_update(workspace=workspace, **serializer.validated_data)
        return Response(WorkspaceSettings(workspace).data)
