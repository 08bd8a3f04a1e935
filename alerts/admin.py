from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from alerts.models import (
    Alert,
    AlertChange,
    Channel,
    RoutingRule,
    Team,
    WebhookEndpoint,
)
from alerts.services import routing_rule_validate, webhook_url_validate
from config.errors import ServiceError
from surveys.rules import ROUTING
from workspaces.admin import ConfigChangeAdmin, WorkspaceScopedAdmin, WorkspaceScopedInline


def _refuse_unsafe_url(url: str) -> str:
    """The SSRF guard, as a form error: private and loopback targets are refused
    unless ALLOW_PRIVATE_WEBHOOK_TARGETS is set."""
    try:
        webhook_url_validate(url)
    except ServiceError as error:
        raise forms.ValidationError(error.message) from None
    return url


class ChannelForm(forms.ModelForm):
    class Meta:
        model = Channel
        fields = ["team", "kind", "target", "is_enabled", "disabled_reason"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") in ("slack", "webhook") and data.get("target"):
            try:
                _refuse_unsafe_url(data["target"])
            except forms.ValidationError as error:
                self.add_error("target", error)
        return data


class WebhookEndpointForm(forms.ModelForm):
    class Meta:
        model = WebhookEndpoint
        fields = ["workspace", "url", "events", "is_enabled", "disabled_reason"]

    def clean_url(self) -> str:
        return _refuse_unsafe_url(self.cleaned_data["url"])


class ChannelInline(WorkspaceScopedInline, admin.TabularInline):
    model = Channel
    form = ChannelForm
    extra = 0
    fields = ["kind", "target", "is_enabled", "disabled_reason"]
    readonly_fields = ["disabled_reason"]


@admin.register(Team)
class TeamAdmin(ConfigChangeAdmin):
    list_display = ["name", "workspace", "locale", "receives_digest"]
    list_filter = ["workspace", "receives_digest"]
    filter_horizontal = ["members"]
    inlines = [ChannelInline]


@admin.register(Channel)
class ChannelAdmin(ConfigChangeAdmin):
    workspace_path = "team__workspace"
    list_display = ["__str__", "team", "kind", "is_enabled", "disabled_reason"]
    list_filter = ["kind", "is_enabled"]
    readonly_fields = ["secret"]

    form = ChannelForm


class RoutingRuleForm(forms.ModelForm):
    class Meta:
        model = RoutingRule
        fields = [
            "workspace",
            "name",
            "team",
            "priority",
            "stop_after_match",
            "is_active",
            *ROUTING.allowed,
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # The conditions that passed their own field's checks.
        errors = routing_rule_validate(
            **{name: data[name] for name in ROUTING.allowed if name in data}
        )
        for field, message in errors.items():
            self.add_error(field, message)
        return data


@admin.register(RoutingRule)
class RoutingRuleAdmin(ConfigChangeAdmin):
    form = RoutingRuleForm
    list_display = ["name", "workspace", "team", "priority", "stop_after_match", "is_active"]
    list_filter = ["workspace", "team", "is_active"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ConfigChangeAdmin):
    list_display = ["url", "workspace", "events", "is_enabled", "disabled_reason", "created_at"]
    list_filter = ["workspace", "is_enabled"]
    readonly_fields = ["secret", "created_at"]

    form = WebhookEndpointForm


class AlertChangeInline(WorkspaceScopedInline, admin.TabularInline):
    model = AlertChange
    editable = False
    extra = 0
    can_delete = False
    readonly_fields = ["created_at", "user", "from_status", "to_status", "note"]


@admin.register(Alert)
class AlertAdmin(WorkspaceScopedAdmin):
    list_display = ["created_at", "team", "session", "risk_score", "status", "assignee"]
    list_filter = ["workspace", "team", "status"]
    readonly_fields = ["workspace", "session", "team", "rule", "event", "risk_score", "created_at"]
    inlines = [AlertChangeInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # alerts are raised by routing rules, never typed in
