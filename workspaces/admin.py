"""Admin for workspaces. ``WorkspaceScopedAdmin`` limits every model admin to the
workspaces the signed-in user belongs to (superusers see all)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from config.forms import JSON_FORMFIELD_OVERRIDES
from workspaces.models import ApiKey, Membership, Workspace
from workspaces.selectors import workspaces_for_user
from workspaces.services import api_key_issue, api_key_revoke, workspace_config_bump


class WorkspaceScopedAdmin(admin.ModelAdmin):
    """Rows, foreign-key choices and saves stay inside the user's workspaces.

    ``workspace_path`` is the lookup from the model to its Workspace.
    """

    workspace_path = "workspace"
    formfield_overrides = JSON_FORMFIELD_OVERRIDES

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        allowed = workspaces_for_user(user=request.user)
        return queryset.filter(**{f"{self.workspace_path}__in": allowed})

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if request.user.is_superuser or field is None or not hasattr(field, "queryset"):
            return field
        model = db_field.remote_field.model
        assert field.queryset is not None
        allowed = workspaces_for_user(user=request.user)
        if model is Workspace:
            field.queryset = allowed
        elif any(f.name == "workspace" for f in model._meta.fields):
            field.queryset = field.queryset.filter(workspace__in=allowed)
        elif any(f.name == "survey" for f in model._meta.fields):
            field.queryset = field.queryset.filter(survey__workspace__in=allowed)
        return field

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and (
            request.user.is_superuser or workspaces_for_user(user=request.user).exists()
        )

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.has_module_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self.has_module_permission(request)


class ConfigChangeAdmin(WorkspaceScopedAdmin):
    """For the flow's configuration (categorisation rules, competitors, teams,
    channels, routing rules, webhook endpoints): every save or delete bumps the
    workspace's ``config_version``, so each process reloads what it cached."""

    def _bump(self, workspace_ids: set[int]) -> None:
        for workspace_id in workspace_ids:
            workspace_config_bump(workspace_id=workspace_id)

    def _workspace_id(self, obj: Any) -> int:
        target = obj
        for step in self.workspace_path.split("__")[:-1]:
            target = getattr(target, step)
        return int(getattr(target, f"{self.workspace_path.split('__')[-1]}_id"))

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        self._bump({self._workspace_id(obj)})

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)  # inlines, such as channels
        self._bump({self._workspace_id(form.instance)})

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        workspace_id = self._workspace_id(obj)
        super().delete_model(request, obj)
        self._bump({workspace_id})

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        workspace_ids = set(queryset.values_list(self.workspace_path, flat=True))
        super().delete_queryset(request, queryset)
        self._bump(workspace_ids)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class WorkspaceAdminForm(forms.ModelForm):
    """The Stripe key is write-only: the field is always empty, leaving it empty
    keeps the stored key, and only its kind and last four characters are shown."""

    stripe_secret_key = forms.CharField(
        label=_("Stripe secret key"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_(
            "Stored in this service's database. Leave empty to keep the current key. "
            "A restricted key (rk_…) allowed to write coupons and subscriptions is enough."
        ),
    )
    stripe_secret_key_remove = forms.BooleanField(
        label=_("Remove the stored Stripe key"), required=False
    )

    class Meta:
        model = Workspace
        fields = [
            "name",
            "slug",
            "time_zone",
            "default_locale",
            "currency",
            "offer_cooldown_days",
            "compliance_mode",
            "send_confirmation_email",
            "stripe_enabled",
            "stripe_secret_key",
        ]

    def clean_stripe_secret_key(self) -> str:
        if self.data.get(self.add_prefix("stripe_secret_key_remove")):
            return ""
        return self.cleaned_data["stripe_secret_key"] or self.instance.stripe_secret_key


@admin.register(Workspace)
class WorkspaceAdmin(WorkspaceScopedAdmin):
    workspace_path = "pk"
    form = WorkspaceAdminForm
    list_display = ["name", "slug", "public_id", "time_zone", "default_locale", "currency"]
    readonly_fields = ["public_id", "identity_secret", "stripe_key", "created_at"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "slug",
                    "public_id",
                    "time_zone",
                    "default_locale",
                    "currency",
                    "created_at",
                ]
            },
        ),
        (
            _("Cancel flow"),
            {"fields": ["offer_cooldown_days", "compliance_mode", "send_confirmation_email"]},
        ),
        (_("Widget"), {"fields": ["identity_secret"]}),
        (
            _("Stripe billing"),
            {
                "fields": [
                    "stripe_enabled",
                    "stripe_key",
                    "stripe_secret_key",
                    "stripe_secret_key_remove",
                ],
                "description": _(
                    "Saved and cancelled outcomes are applied to the customer's Stripe "
                    "subscription. The key is kept in this service's database and is "
                    "never shown again in full."
                ),
            },
        ),
    ]
    search_fields = ["name", "slug", "public_id"]
    inlines = [MembershipInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = admin.ModelAdmin.get_queryset(self, request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(pk__in=workspaces_for_user(user=request.user))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    @admin.display(description=_("Stored Stripe key"))
    def stripe_key(self, obj: Workspace) -> str:
        return obj.stripe_key_hint or "—"


@admin.register(ApiKey)
class ApiKeyAdmin(WorkspaceScopedAdmin):
    list_display = ["name", "workspace", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["workspace"]
    fields = ["workspace", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        issued = api_key_issue(workspace=obj.workspace, name=obj.name)
        obj.pk = issued.api_key.pk
        self.message_user(
            request,
            f"New API key (copy it now, it is not shown again): {issued.raw_key}",
            messages.WARNING,
        )

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset:
            api_key_revoke(api_key=api_key)
        self.message_user(request, f"Revoked {queryset.count()} key(s).")


@admin.register(Membership)
class MembershipAdmin(WorkspaceScopedAdmin):
    list_display = ["user", "workspace", "role", "created_at"]
    list_filter = ["role", "workspace"]
