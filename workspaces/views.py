"""The signed-in web UI's entry: the list of the user's workspaces."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from workspaces.access import member_required
from workspaces.models import Role
from workspaces.selectors import brand_logo_of, workspace_roles


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


@require_safe
def brand_logo(request: HttpRequest, public_id: str, key: str) -> HttpResponse:
    """A workspace's logo, as Pillow encoded it. The current key's URL never
    changes content, so it is cached for a year; an older key (in an email sent
    before the logo changed) gets the current logo, cached briefly."""
    logo = brand_logo_of(public_id=public_id)
    if logo is None:
        raise Http404("no logo")
    current = key == logo.key
    etag = f'"{logo.key}"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(bytes(logo.content), content_type=logo.content_type)
    response["ETag"] = etag
    if current:
        patch_cache_control(response, public=True, max_age=31536000, immutable=True)
    else:
        patch_cache_control(response, public=True, max_age=300)
    return response
