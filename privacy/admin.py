from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from privacy.models import ErasureRecord
from workspaces.admin import WorkspaceScopedAdmin


@admin.register(ErasureRecord)
class ErasureRecordAdmin(WorkspaceScopedAdmin):
    """The audit trail of erasures: read only, for everyone who may see it."""

    list_display = ["created_at", "workspace", "erased_by", "actor", "pseudonym", "customers"]
    list_filter = ["erased_by", "workspace"]
    search_fields = ["pseudonym", "actor"]
    date_hierarchy = "created_at"
    fields = readonly_fields = (
        "workspace",
        "created_at",
        "erased_by",
        "actor",
        "api_key",
        "user",
        "pseudonym",
        "customers",
        "counts",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
