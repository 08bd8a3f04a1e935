"""The admin site: only superusers and admins of at least one workspace get in.

``is_staff`` is kept in step with the roles (``workspaces.services.user_staff_sync``);
the site checks the role as well, so a flag left behind (a workspace deleted
under its admins, a flag set by hand) opens nothing."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from workspaces.selectors import workspaces_administered


class WorkspaceAdminSite(admin.AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        if not (user.is_active and user.is_staff):
            return False
        return bool(user.is_superuser) or workspaces_administered(user=user).exists()
