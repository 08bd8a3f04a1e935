"""The signed-in web UI's entry: the list of the user's workspaces."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from workspaces.access import member_required
from workspaces.models import Membership, Role
from workspaces.selectors import workspaces_for_user


@login_required
def app_home(request: HttpRequest) -> HttpResponse:
    """Where signing in lands: the workspaces this user can open, with their role."""
    roles = dict(
        Membership.objects.filter(user_id=request.user.pk).values_list("workspace_id", "role")
    )
    workspaces = [
        (workspace, Role(roles.get(workspace.pk, Role.ADMIN)).label)
        for workspace in workspaces_for_user(user=request.user).order_by("name")
    ]
    return render(request, "app/home.html", {"workspaces": workspaces})


@member_required()
def workspace_overview(request: HttpRequest) -> HttpResponse:
    """A workspace's landing page: what the host needs to connect, and where to go."""
    return render(request, "app/workspace.html", {"workspace": request.workspace})  # type: ignore[attr-defined]
