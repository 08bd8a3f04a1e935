from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from offers.models import Experiment, ExperimentVariant, Offer, OfferRule
from workspaces.admin import ConfigChangeAdmin, WorkspaceScopedInline


@admin.register(Offer)
class OfferAdmin(ConfigChangeAdmin):
    list_display = ["name", "workspace", "kind", "max_uses_per_customer", "is_active"]
    list_filter = ["workspace", "kind", "is_active"]
    search_fields = ["name"]


@admin.register(OfferRule)
class OfferRuleAdmin(ConfigChangeAdmin):
    list_display = ["name", "workspace", "priority", "offer", "experiment", "is_active"]
    list_filter = ["workspace", "is_active"]
    fieldsets = [
        (None, {"fields": ["workspace", "name", "priority", "is_active"]}),
        ("Shows", {"fields": ["offer", "experiment"]}),
        (
            "When (every condition given must hold)",
            {
                "fields": [
                    "reasons",
                    "categories",
                    "plans",
                    "locales",
                    ("min_mrr_cents", "max_mrr_cents"),
                    ("min_tenure_days", "max_tenure_days"),
                    "metadata",
                ]
            },
        ),
    ]


class VariantInline(WorkspaceScopedInline, admin.TabularInline):
    model = ExperimentVariant
    extra = 0
    fields = ["name", "offer", "weight"]


@admin.register(Experiment)
class ExperimentAdmin(ConfigChangeAdmin):
    list_display = ["name", "workspace", "status", "winner", "created_at"]
    list_filter = ["workspace", "status"]
    readonly_fields = ["created_at", "stopped_at"]
    inlines = [VariantInline]

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        winner = form.base_fields.get("winner")
        if isinstance(winner, forms.ModelChoiceField):
            # Only this experiment's own variants can win (none before it has any).
            winner.queryset = (
                ExperimentVariant.objects.filter(experiment=obj)
                if obj
                else ExperimentVariant.objects.none()
            )
        return form
