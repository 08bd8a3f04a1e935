"""The signed-in web UI's entry: the list of the user's workspaces."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from workspaces.access import member_required
from workspaces.models import Role
from workspaces.selectors import workspace_roles


@login_required
def app_home(request: HttpRequest) -> HttpResponse:
    """Where signing in lands: the workspaces this user can open, with their role."""
    workspaces = [
        (workspace, Role(role).label) for workspace, role in workspace_roles(user=request.user)
    ]
    return render(request, "app/home.html", {"workspaces": workspaces})


@member_required()
def workspace_overview(request: HttpRequest) -> HttpResponse:
    """A workspace's landing page: what the host needs to connect, and where to go."""
    return render(request, "app/workspace.html", {"workspace": request.workspace})  # type: ignore[attr-defined]
