from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from config.forms import JSON_FORMFIELD_OVERRIDES
from surveys.models import (
    CancelSession,
    Category,
    CategoryRule,
    ClassifierModel,
    Competitor,
    Reason,
    Response,
    Survey,
)
from surveys.services import survey_bump_version
from workspaces.admin import ConfigChangeAdmin, WorkspaceScopedAdmin, WorkspaceScopedInline


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "label", "stripe_feedback", "position"]
    formfield_overrides = JSON_FORMFIELD_OVERRIDES

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReasonInline(WorkspaceScopedInline, admin.TabularInline):
    model = Reason
    extra = 0
    formfield_overrides = JSON_FORMFIELD_OVERRIDES
    fields = ["position", "code", "category", "label", "follow_up", "text_mode", "is_active"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Answered reasons are retired (is_active off), never deleted.
        return False


@admin.register(Survey)
class SurveyAdmin(ConfigChangeAdmin):
    """Which survey a new session opens is cached per configuration version: any
    save bumps it (``ConfigChangeAdmin``); a change of wording or reasons bumps the
    survey's own version too."""

    list_display = ["name", "workspace", "version", "is_default", "is_active", "updated_at"]
    list_filter = ["workspace", "is_active"]
    readonly_fields = ["version", "created_at", "updated_at"]
    inlines = [ReasonInline]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if change and (form.has_changed() or any(fs.has_changed() for fs in formsets)):
            survey_bump_version(survey=form.instance)


RESPONSE_FIELDS = ["reason_code", "reason_label", "category", "category_source", "text", "locale"]


class ResponseInline(WorkspaceScopedInline, admin.StackedInline):
    model = Response
    editable = False
    extra = 0
    can_delete = False
    fields = tuple(RESPONSE_FIELDS)
    readonly_fields = RESPONSE_FIELDS


@admin.register(CancelSession)
class CancelSessionAdmin(WorkspaceScopedAdmin):
    list_display = ["created_at", "customer_id", "plan", "mrr_cents", "status", "outcome"]
    list_filter = ["status", "outcome", "workspace", "locale"]
    search_fields = ["customer_id", "customer_email", "subscription_id"]
    date_hierarchy = "created_at"
    inlines = [ResponseInline]
    list_select_related = ["workspace"]
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Sessions are written by the flow only; the admin reads them.
        return [f.name for f in CancelSession._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(CategoryRule)
class CategoryRuleAdmin(ConfigChangeAdmin):
    list_display = ["phrase", "category", "weight", "workspace", "is_active"]
    list_filter = ["workspace", "category", "is_active"]
    search_fields = ["phrase"]


@admin.register(Competitor)
class CompetitorAdmin(ConfigChangeAdmin):
    list_display = ["name", "aliases", "workspace"]
    list_filter = ["workspace"]
    search_fields = ["name"]


@admin.register(ClassifierModel)
class ClassifierModelAdmin(WorkspaceScopedAdmin):
    list_display = ["workspace", "version", "trained_at", "examples"]
    list_filter = ["workspace"]
    exclude = ["parameters"]
    readonly_fields = ["workspace", "version", "trained_at", "examples", "labels_seen"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
