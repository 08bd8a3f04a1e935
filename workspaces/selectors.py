"""Reads for workspaces and credentials."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from config.orm import CompiledQuery
from workspaces.models import ApiKey, BrandLogo, Membership, Role, Workspace
from workspaces.services import hash_api_key

# Every server API request reads its key: the statement is compiled once.
_API_KEY = CompiledQuery(
    lambda key_hash: (
        ApiKey.objects.select_related("workspace")
        .filter(key_hash=key_hash, revoked_at__isnull=True)
        .order_by("pk")[:1]
    ),
    key_hash="<key hash>",
)


def api_key_for_raw(*, raw_key: str) -> ApiKey | None:
    """The active key matching ``raw_key``, with its workspace, in one query."""
    return _API_KEY.first(key_hash=hash_api_key(raw_key))


def workspaces_for_user(*, user: User | AnonymousUser) -> QuerySet[Workspace]:
    if not user.is_authenticated:
        return Workspace.objects.none()
    if getattr(user, "is_superuser", False):
        return Workspace.objects.all()
    return Workspace.objects.filter(memberships__user=user)


def workspaces_administered(*, user: User | AnonymousUser) -> QuerySet[Workspace]:
    """The workspaces this user may configure in /admin/: where they are an admin
    (every workspace for a superuser)."""
    if not user.is_authenticated or not user.is_active:
        return Workspace.objects.none()
    if getattr(user, "is_superuser", False):
        return Workspace.objects.all()
    return Workspace.objects.filter(memberships__user=user, memberships__role=Role.ADMIN)


def members_of(*, workspace_ids: Iterable[int]) -> QuerySet[User]:
    """The users who belong to any of these workspaces, each once."""
    return User.objects.filter(memberships__workspace_id__in=list(workspace_ids)).distinct()


def workspace_by_public_id(*, public_id: str) -> Workspace | None:
    return Workspace.objects.filter(public_id=public_id).first()


def member_role(*, user: User | AnonymousUser, slug: str) -> tuple[Workspace, str] | None:
    """The workspace with this slug and the user's role in it, or None when the
    user is not a member (a superuser counts as an admin everywhere). One query."""
    if not user.is_authenticated:
        return None
    if getattr(user, "is_superuser", False):
        workspace = Workspace.objects.filter(slug=slug).first()
        return (workspace, Role.ADMIN) if workspace is not None else None
    membership = (
        Membership.objects.select_related("workspace")
        .filter(user=user, workspace__slug=slug)
        .first()
    )
    return (membership.workspace, membership.role) if membership is not None else None


def workspace_roles(*, user: User | AnonymousUser) -> list[tuple[Workspace, str]]:
    """The workspaces the user can open, by name, each with the user's role."""
    if not user.is_authenticated:
        return []
    if getattr(user, "is_superuser", False):
        return [(workspace, Role.ADMIN) for workspace in Workspace.objects.order_by("name")]
    return [
        (membership.workspace, membership.role)
        for membership in Membership.objects.select_related("workspace")
        .filter(user_id=user.pk)
        .order_by("workspace__name")
    ]


def brand_logo_of(*, public_id: str) -> BrandLogo | None:
    """The logo of the workspace with ``public_id`` (one query), or None."""
    return BrandLogo.objects.filter(workspace__public_id=public_id).first()
