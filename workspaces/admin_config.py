"""Django's admin app, with this project's site as the default ``admin.site``.

Listed in ``INSTALLED_APPS`` instead of ``django.contrib.admin``; kept apart from
``admin_site`` because app configs load before the models do."""

from django.contrib.admin.apps import AdminConfig


class WorkspaceAdminConfig(AdminConfig):
    default_site = "workspaces.admin_site.WorkspaceAdminSite"
