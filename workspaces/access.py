"""Who may open a workspace's pages in the web UI.

Every signed-in page lives under ``/app/<workspace slug>/…``. ``member_required``
resolves the slug to a workspace the user belongs to (superusers belong to all),
checks the role, and hands the view ``request.workspace`` and
``request.membership_role``. Another workspace's page is a 404, never a hint
that it exists; a member whose role may not see the page gets a 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase

from workspaces.models import Role
from workspaces.selectors import member_role

View = Callable[..., HttpResponseBase]


def member_required(*roles: str) -> Callable[[View], View]:
    """Allow members with one of ``roles`` (all roles when none are named)."""
    allowed = set(roles or Role.values)

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, workspace: str, *args: Any, **kwargs: Any) -> Any:
            found = member_role(user=request.user, slug=workspace)
            if found is None:
                raise Http404("No such workspace.")
            ws, role = found
            if role not in allowed:
                raise PermissionDenied("Your role in this workspace cannot open this page.")
            request.workspace = ws  # type: ignore[attr-defined]
            request.membership_role = role  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
