"""Reads for workspaces and credentials."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from workspaces.models import ApiKey, Workspace
from workspaces.services import hash_api_key


def api_key_for_raw(*, raw_key: str) -> ApiKey | None:
    """The active key matching ``raw_key``, with its workspace, in one query."""
    return (
        ApiKey.objects.select_related("workspace")
        .filter(key_hash=hash_api_key(raw_key), revoked_at__isnull=True)
        .first()
    )


def workspaces_for_user(*, user: User | AnonymousUser) -> QuerySet[Workspace]:
    if not user.is_authenticated:
        return Workspace.objects.none()
    if getattr(user, "is_superuser", False):
        return Workspace.objects.all()
    return Workspace.objects.filter(memberships__user=user)


def workspace_by_public_id(*, public_id: str) -> Workspace | None:
    return Workspace.objects.filter(public_id=public_id).first()
