"""Admin for workspaces. ``WorkspaceScopedAdmin`` limits every model admin to the
workspaces the signed-in user is an admin of (superusers see all); analysts and
support members do not reach /admin/ at all (``workspaces.admin_site``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.auth.models import User
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from config.errors import ServiceError
from config.forms import JSON_FORMFIELD_OVERRIDES
from workspaces.accent import accent_color_normalize
from workspaces.brand import LOGO_MAX_BYTES, ProcessedLogo, logo_path, logo_process
from workspaces.models import ApiKey, Membership, Workspace
from workspaces.selectors import members_of, workspaces_administered
from workspaces.services import (
    api_key_issue,
    api_key_revoke,
    membership_change_check,
    membership_remove,
    membership_set_role,
    workspace_config_bump,
    workspace_delete,
    workspace_update,
)


def administered_ids(request: HttpRequest) -> frozenset[int] | None:
    """The ids of the workspaces the signed-in user administers, once per request
    (None for a superuser: every workspace)."""
    if request.user.is_superuser:
        return None
    cached = getattr(request, "_administered_workspace_ids", None)
    if cached is None:
        cached = frozenset(workspaces_administered(user=request.user).values_list("pk", flat=True))
        request._administered_workspace_ids = cached  # type: ignore[attr-defined]
    return cached


def workspace_lookup(model: type[Model], depth: int = 3) -> str | None:
    """The lookup from ``model`` to the Workspace it belongs to ("workspace",
    "team__workspace", "pk" for Workspace itself), or None for data every
    workspace shares (categories)."""
    if model is Workspace:
        return "pk"
    fields = [f for f in model._meta.fields if f.is_relation and f.many_to_one]
    for field in fields:
        if field.related_model is Workspace:
            return field.name
    if depth > 1:
        for field in fields:
            related = field.related_model
            if isinstance(related, type) and related is not model:
                inner = workspace_lookup(related, depth - 1)
                if inner is not None and inner != "pk":
                    return f"{field.name}__{inner}"
    return None


def scope_choices(request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
    """Narrow a form's choices (foreign keys, many-to-many) to the user's admin
    workspaces, their rows and their members."""
    allowed = administered_ids(request)
    if allowed is None:
        return queryset
    model = queryset.model
    if model is User:
        return queryset.filter(pk__in=members_of(workspace_ids=allowed).values("pk"))
    lookup = workspace_lookup(model)
    if lookup is None:
        return queryset
    return queryset.filter(**{f"{lookup}__in": allowed})


class ScopedChoicesMixin:
    """Foreign-key and many-to-many choices limited by ``scope_choices``."""

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]
        if field is not None and getattr(field, "queryset", None) is not None:
            field.queryset = scope_choices(request, field.queryset)
        return field

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]
        if field is not None and getattr(field, "queryset", None) is not None:
            field.queryset = scope_choices(request, field.queryset)
        return field


class WorkspaceScopedAdmin(ScopedChoicesMixin, admin.ModelAdmin):
    """Only a workspace's admins (and superusers) see, add, change or delete its
    rows: querysets, choices, list filters and every permission check the role
    for the object's own workspace. Analysts and support never reach /admin/.

    ``workspace_path`` is the lookup from the model to its Workspace.
    """

    workspace_path = "workspace"
    formfield_overrides = JSON_FORMFIELD_OVERRIDES

    def workspace_id_of(self, obj: Any) -> int | None:
        if self.workspace_path == "pk":
            return int(obj.pk)
        *steps, last = self.workspace_path.split("__")
        target = obj
        for step in steps:
            target = getattr(target, step, None)
            if target is None:
                return None
        value = getattr(target, f"{last}_id", None)
        return int(value) if value is not None else None

    def may_administer(self, request: HttpRequest, obj: Any = None) -> bool:
        """Whether the user is an admin of ``obj``'s workspace (of any workspace
        when there is no object)."""
        if not request.user.is_active:
            return False
        allowed = administered_ids(request)
        if allowed is None:
            return True
        if not allowed:
            return False
        return obj is None or self.workspace_id_of(obj) in allowed

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        allowed = administered_ids(request)
        if allowed is None:
            return queryset
        return queryset.filter(**{f"{self.workspace_path}__in": allowed})

    def get_list_filter(self, request: HttpRequest) -> Any:
        # A related filter lists only what the visible rows point to, never
        # another workspace's name or team.
        filters = []
        for item in super().get_list_filter(request):
            if isinstance(item, str) and get_fields_from_path(self.model, item)[-1].is_relation:
                item = (item, admin.RelatedOnlyFieldListFilter)
            filters.append(item)
        return filters

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.may_administer(request)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self.may_administer(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self.may_administer(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.may_administer(request)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self.may_administer(request, obj)


class WorkspaceScopedInline(ScopedChoicesMixin):
    """Mix into an inline (``class X(WorkspaceScopedInline, admin.TabularInline)``):
    it follows its parent, visible to whoever may view the parent, editable by
    whoever may change it (never, when ``editable`` is off)."""

    editable = True
    admin_site: admin.AdminSite
    parent_model: type[Model]

    def _parent(self) -> WorkspaceScopedAdmin:
        parent = self.admin_site.get_model_admin(self.parent_model)
        assert isinstance(parent, WorkspaceScopedAdmin)
        return parent

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._parent().may_administer(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.editable and self._parent().may_administer(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.editable and self._parent().may_administer(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.editable and self._parent().may_administer(request, obj)


class ConfigChangeAdmin(WorkspaceScopedAdmin):
    """For the flow's configuration (categorisation rules, competitors, teams,
    channels, routing rules, webhook endpoints): every save or delete bumps the
    workspace's ``config_version``, so each process reloads what it cached."""

    def _bump(self, workspace_ids: set[int]) -> None:
        for workspace_id in workspace_ids:
            workspace_config_bump(workspace_id=workspace_id)

    def _workspace_id(self, obj: Any) -> int:
        workspace_id = self.workspace_id_of(obj)
        assert workspace_id is not None
        return workspace_id

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


class MembershipInline(WorkspaceScopedInline, admin.TabularInline):
    """Who belongs to the workspace; members are added, re-roled and removed on
    the Memberships page, through ``membership_set_role``/``membership_remove``."""

    model = Membership
    extra = 0
    editable = False
    fields = ["user", "role", "created_at"]
    readonly_fields = ["user", "role", "created_at"]


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
    brand_logo_upload = forms.FileField(
        label=_("Logo"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
        help_text=_(
            "PNG, JPEG or WebP, at most 200 KB (no SVG). It is checked and encoded "
            "again, without its metadata, and shown 40 pixels high."
        ),
    )
    brand_logo_remove = forms.BooleanField(label=_("Remove the logo"), required=False)
    stripe_webhook_secret = forms.CharField(
        label=_("Stripe webhook signing secret"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_(
            "The signing secret (whsec_…) of the Stripe endpoint that sends "
            "customer.subscription.deleted and .updated to /api/v1/stripe/webhooks/"
            "<workspace id>. Leave empty to keep the current one."
        ),
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
            "stripe_webhook_secret",
            "retain_personal_data_days",
            "brand_name",
            "brand_accent_color",
            "brand_support_email",
        ]

    def clean_brand_accent_color(self) -> str:
        value = self.cleaned_data.get("brand_accent_color") or ""
        if not value:
            return ""
        try:
            return accent_color_normalize(value)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None

    def clean_brand_logo_upload(self) -> ProcessedLogo | None:
        upload = self.cleaned_data.get("brand_logo_upload")
        if not upload:
            return None
        if upload.size > LOGO_MAX_BYTES:
            raise forms.ValidationError(
                _("The logo is %(size)d KB; at most %(limit)d KB.")
                % {"size": (upload.size + 1023) // 1024, "limit": LOGO_MAX_BYTES // 1024}
            )
        try:
            return logo_process(upload.read())
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None

    def clean_stripe_secret_key(self) -> str:
        if self.data.get(self.add_prefix("stripe_secret_key_remove")):
            return ""
        return self.cleaned_data["stripe_secret_key"] or self.instance.stripe_secret_key

    def clean_stripe_webhook_secret(self) -> str:
        return self.cleaned_data["stripe_webhook_secret"] or self.instance.stripe_webhook_secret


@admin.register(Workspace)
class WorkspaceAdmin(WorkspaceScopedAdmin):
    workspace_path = "pk"
    form = WorkspaceAdminForm
    list_display = ["name", "slug", "public_id", "time_zone", "default_locale", "currency"]
    readonly_fields = [
        "public_id",
        "identity_secret",
        "stripe_key",
        "created_at",
        "brand_logo_preview",
    ]
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
        (_("Widget"), {"fields": ["identity_secret", "allowed_origins"]}),
        (
            _("Brand"),
            {
                "fields": [
                    "brand_name",
                    "brand_accent_color",
                    "brand_support_email",
                    "brand_logo_preview",
                    "brand_logo_upload",
                    "brand_logo_remove",
                ]
            },
        ),
        (_("Personal data"), {"fields": ["retain_personal_data_days"]}),
        (
            _("Stripe billing"),
            {
                "fields": [
                    "stripe_enabled",
                    "stripe_key",
                    "stripe_secret_key",
                    "stripe_secret_key_remove",
                    "stripe_webhook_secret",
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # A workspace and everything in it goes only by a superuser's hand.
        return request.user.is_superuser

    def save_model(self, request: HttpRequest, obj: Workspace, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        logo = form.cleaned_data.get("brand_logo_upload")
        if logo is not None or form.cleaned_data.get("brand_logo_remove"):
            workspace_update(workspace=obj, brand={"logo": logo})
        elif change:
            # The pages cache what they read (framing, brand) per config_version.
            workspace_config_bump(workspace_id=obj.pk)

    def delete_model(self, request: HttpRequest, obj: Workspace) -> None:
        workspace_delete(workspace=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Workspace]) -> None:
        for workspace in queryset:
            workspace_delete(workspace=workspace)

    @admin.display(description=_("Current logo"))
    def brand_logo_preview(self, obj: Workspace) -> str:
        path = logo_path(obj) if obj.pk else ""
        if not path:
            return "—"
        return format_html('<img src="{}" alt="" height="40">', path)

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


class MembershipForm(forms.ModelForm):
    """Nobody adds, re-roles or removes themselves (superusers aside)."""

    actor: User | None = None

    class Meta:
        model = Membership
        fields = ["workspace", "user", "role"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        user = data.get("user") or getattr(self.instance, "user", None)
        if user is not None:
            try:
                membership_change_check(user=user, actor=self.actor)
            except ServiceError as error:
                raise forms.ValidationError(error.message) from None
        return data


@admin.register(Membership)
class MembershipAdmin(WorkspaceScopedAdmin):
    """Adding, re-roling and removing members go through the services, which keep
    each user's ``is_staff`` (their way into /admin/) in step with their roles."""

    form = MembershipForm
    list_display = ["user", "workspace", "role", "created_at"]
    list_filter = ["role", "workspace"]
    list_select_related = ["user", "workspace"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A membership's workspace and user are what it is; only the role changes.
        return ["workspace", "user", "created_at"] if obj else []

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

    def _own(self, request: HttpRequest, obj: Any) -> bool:
        return obj is not None and obj.user_id == request.user.pk and not request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_change_permission(request, obj) and not self._own(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_delete_permission(request, obj) and not self._own(request, obj)

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        saved = membership_set_role(
            workspace=obj.workspace,
            user=obj.user,
            role=obj.role,
            actor=request.user,  # type: ignore[arg-type]
        )
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        membership_remove(membership=obj, actor=request.user)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        for membership in queryset.select_related("user"):
            if self._own(request, membership):
                self.message_user(
                    request,
                    _("Your own membership was kept: another admin must change it."),
                    messages.WARNING,
                )
                continue
            membership_remove(membership=membership, actor=request.user)  # type: ignore[arg-type]
