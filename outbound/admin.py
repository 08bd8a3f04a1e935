"""The deliveries in the admin: each with its attempts, and a retry of dead
ones by hand. A workspace's admins see only its rows."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from outbound.models import Delivery, DeliveryAttempt, DeliveryStatus
from outbound.services import delivery_retry
from workspaces.admin import WorkspaceScopedAdmin, WorkspaceScopedInline


class AttemptInline(WorkspaceScopedInline, admin.TabularInline):
    model = DeliveryAttempt
    editable = False
    extra = 0
    can_delete = False
    readonly_fields = ["number", "started_at", "duration_ms", "ok", "status_code", "error"]


@admin.register(Delivery)
class DeliveryAdmin(WorkspaceScopedAdmin):
    list_display = [
        "id",
        "kind",
        "workspace",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
    ]
    list_filter = ["status", "kind", "workspace"]
    readonly_fields = [
        "workspace",
        "event",
        "kind",
        "key",
        "target",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
        "updated_at",
        "sent_at",
    ]
    inlines = [AttemptInline]
    actions = ["retry"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Retry the selected dead deliveries")
    def retry(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        done = 0
        for delivery in queryset.filter(status=DeliveryStatus.DEAD):
            delivery_retry(workspace=delivery.workspace, delivery_id=delivery.pk)
            done += 1
        self.message_user(request, f"Queued {done} dead delivery(ies) for one more try.")
