"""The workspace's own settings (v1): ``GET`` and ``PATCH /api/v1/workspace``.

An API key acts as its workspace. One serializer describes the settings; the
fields that are not read-only are the ones ``PATCH`` may change, each passed to
``workspace_update`` by name, so a new setting is one field here and one
argument there.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import EmailValidator
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from workspaces.accent import accent_color_normalize
from workspaces.authentication import api_workspace
from workspaces.brand import LOGO_MAX_BYTES, logo_from_data_url, logo_process, workspace_brand
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
SETTINGS_WRITABLE = ["allowed_origins", "brand"]
# Room for a logo somewhat over LOGO_MAX_BYTES as base64, so one too large is
# refused saying its size rather than as a too-large body.
LOGO_MAX_CHARS = LOGO_MAX_BYTES * 2
MAX_BODY_BYTES = LOGO_MAX_CHARS + 16 * 1024


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


class BrandSettings(serializers.Serializer):
    """The brand customers see. In a PATCH only the keys given change; an empty
    name, colour or address (or ``null``) goes back to the default."""

    name = serializers.CharField(
        max_length=200,
        allow_blank=True,
        allow_null=True,
        required=False,
        help_text="Shown on every cancel page and customer email. Empty: the workspace's name.",
    )
    accent_color = serializers.CharField(
        max_length=7,
        allow_blank=True,
        allow_null=True,
        required=False,
        help_text=(
            "#rrggbb: the main buttons' colour, under white text. It must reach WCAG AA "
            "contrast with white (4.5:1); a lighter colour is refused with its ratio."
        ),
    )
    logo = serializers.CharField(
        allow_null=True,
        required=False,
        max_length=LOGO_MAX_CHARS,
        help_text=(
            "Write: a base64 data URL (data:image/png;base64,…) of a PNG, JPEG or WebP "
            "image of at most 200 KB (no SVG), or null to remove it. Read: the logo's URL "
            "on this service, or null."
        ),
    )
    # A plain string in the schema, since an empty one reads back as "" (checked
    # as an address in validate_support_email, which the schema does not turn
    # into format: email as it would a field validator).
    support_email = serializers.CharField(
        max_length=254,
        allow_blank=True,
        allow_null=True,
        required=False,
        help_text="Where customers can write with questions. Empty: none.",
    )

    def validate_accent_color(self, value: str | None) -> str:
        if not value:
            return ""
        try:
            return accent_color_normalize(value)
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from None

    def validate_support_email(self, value: str | None) -> str:
        if not value:
            return ""
        try:
            EmailValidator()(value)
        except DjangoValidationError:
            raise serializers.ValidationError(gettext("Enter a valid email address.")) from None
        return value

    def validate_logo(self, value: str | None) -> Any:
        if value is None:
            return None
        try:
            return logo_process(logo_from_data_url(value))
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from None


@extend_schema_field(BrandSettings)
class BrandField(serializers.Field):
    """The workspace's brand: read as the customers see it, written through
    ``BrandSettings``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", **kwargs)

    def to_representation(self, workspace: Workspace) -> dict[str, Any]:
        brand = workspace_brand(workspace)
        return {
            "name": brand.name,
            "accent_color": brand.accent_color,
            "logo": brand.logo_url or None,
            "support_email": brand.support_email,
        }

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                gettext("An object with name, accent_color, logo, support_email.")
            )
        inner = BrandSettings(data=data, partial=True)
        unexpected = sorted(str(key) for key in data if key not in inner.fields)
        if unexpected:
            raise serializers.ValidationError(
                {key: gettext("Unknown setting.") for key in unexpected}
            )
        inner.is_valid(raise_exception=True)
        return {"brand": dict(inner.validated_data)}


class WorkspaceSettings(serializers.ModelSerializer):
    """What a workspace's API key may read about it (never a secret), and change."""

    allowed_origins = OriginListField(
        help_text=(
            "Origins (scheme://host[:port]) of your product. When any are set, a "
            "session's return_url must be on one of them."
        ),
    )

    brand = BrandField(required=False)

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
    max_body_bytes = MAX_BODY_BYTES

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
