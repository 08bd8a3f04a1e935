"""Writes for workspaces, members and credentials."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from config.errors import Invalid, ServiceError
from config.events import DomainEvent, publish
from workspaces.accent import accent_color_normalize
from workspaces.brand import ProcessedLogo
from workspaces.models import ApiKey, BrandLogo, Membership, Role, Workspace
from workspaces.origins import origins_normalize

API_KEY_PREFIX = "cfk_"
# last_used_at is refreshed at most this often, so authenticating is not a write
# on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Published by workspace_create in its transaction (the surveys app subscribes).
WORKSPACE_CREATED = "workspace.created"


def hash_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedApiKey:
    api_key: ApiKey
    raw_key: str


def workspace_create(
    *,
    name: str,
    slug: str | None = None,
    time_zone: str = "UTC",
    default_locale: str = "en",
    currency: str = "USD",
) -> Workspace:
    """Create a workspace; it announces ``workspace.created`` in the same
    transaction, and the surveys app gives it the default survey."""
    with transaction.atomic():
        workspace = Workspace.objects.create(
            name=name,
            slug=slug or slugify(name)[:60],
            time_zone=time_zone,
            default_locale=default_locale,
            currency=currency.upper(),
        )
        publish(
            DomainEvent(
                name=WORKSPACE_CREATED,
                workspace_id=workspace.pk,
                at=workspace.created_at,
                workspace=workspace,
            )
        )
    return workspace


def user_staff_sync(*, user: User) -> User:
    """Give ``is_staff`` (the key to /admin/) to superusers and to admins of at
    least one workspace, and take it from everyone else."""
    is_staff = (
        bool(user.is_superuser)
        or Membership.objects.filter(user_id=user.pk, role=Role.ADMIN).exists()
    )
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])
    return user


def membership_change_check(*, user: User, actor: User | None) -> None:
    """Refuse (ServiceError, 403) when ``actor`` would change their own membership:
    nobody re-roles or removes themselves, superusers aside."""
    if actor is not None and actor.pk == user.pk and not actor.is_superuser:
        raise ServiceError(
            _("Nobody changes their own membership; ask another admin."),
            code="own_membership",
            status_code=403,
        )


def membership_set_role(
    *, workspace: Workspace, user: User, role: str, actor: User | None = None
) -> Membership:
    """Make ``user`` a member of ``workspace`` with ``role``, or change the role of
    an existing member, and keep the user's ``is_staff`` in step. ``actor`` is who
    asks (None for commands and code): a member never changes their own role."""
    if role not in Role.values:
        raise ServiceError(
            _("Unknown role %(role)r; one of: %(roles)s.")
            % {"role": role, "roles": ", ".join(Role.values)},
            code="unknown_role",
            fields={"role": "unknown"},
        )
    membership_change_check(user=user, actor=actor)
    with transaction.atomic():
        membership, _created = Membership.objects.update_or_create(
            workspace=workspace, user=user, defaults={"role": role}
        )
        user_staff_sync(user=user)
    return membership


# The name older callers use: adding a member and changing the role are one write.
membership_add = membership_set_role


def membership_remove(*, membership: Membership, actor: User | None = None) -> None:
    """Take a member out of a workspace and keep their ``is_staff`` in step."""
    user = membership.user
    membership_change_check(user=user, actor=actor)
    with transaction.atomic():
        membership.delete()
        user_staff_sync(user=user)


def workspace_delete(*, workspace: Workspace) -> None:
    """Delete a workspace with everything in it; its members' ``is_staff`` is
    recomputed from the roles they keep elsewhere."""
    with transaction.atomic():
        users = list(User.objects.filter(memberships__workspace=workspace))
        workspace.delete()
        for user in users:
            user_staff_sync(user=user)


def user_create(*, username: str, password: str, email: str = "") -> User:
    """A user who can sign in to the web UI; ``is_staff`` follows their roles
    (``membership_set_role``), never set here."""
    user: User = get_user_model().objects.create_user(
        username=username, password=password, email=email
    )
    return user


def user_set_credentials(*, user: User, password: str = "", email: str | None = None) -> User:
    """Change a user's password (when given) and email (when not None)."""
    fields = []
    if password:
        user.set_password(password)
        fields.append("password")
    if email is not None and email != user.email:
        user.email = email
        fields.append("email")
    if fields:
        user.save(update_fields=fields)
    return user


def api_key_issue(*, workspace: Workspace, name: str) -> IssuedApiKey:
    """Make a new API key. The raw key is returned once and never stored."""
    raw_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        workspace=workspace,
        name=name,
        prefix=raw_key[: len(API_KEY_PREFIX) + 6],
        key_hash=hash_api_key(raw_key),
    )
    return IssuedApiKey(api_key=api_key, raw_key=raw_key)


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def api_key_touch(*, api_key: ApiKey) -> None:
    """Record use, at most once per LAST_USED_RESOLUTION."""
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now


def identity_secret_rotate(*, workspace: Workspace) -> str:
    from workspaces.models import new_identity_secret

    workspace.identity_secret = new_identity_secret()
    workspace.save(update_fields=["identity_secret"])
    return workspace.identity_secret


def workspace_config_bump(*, workspace_id: int) -> None:
    """Record that the flow's configuration changed, so caches keyed by
    ``(workspace id, config_version)`` load it afresh. Call it inside the
    transaction that changes the configuration."""
    Workspace.objects.filter(pk=workspace_id).update(config_version=F("config_version") + 1)


# A brand change: only the keys given change. "logo" is a ProcessedLogo
# (workspaces.brand.logo_process), or None to remove the logo.
BRAND_KEYS = ("name", "accent_color", "support_email", "logo")


def workspace_update(
    *,
    workspace: Workspace,
    allowed_origins: list[str] | None = None,
    brand: dict[str, Any] | None = None,
) -> Workspace:
    """Change a workspace's settings; ``None`` leaves a setting as it is.

    ``allowed_origins`` is normalised (workspaces.origins); InvalidOrigins names
    each entry that is not an origin. ``brand`` holds the brand's keys to change
    (``BRAND_KEYS``); an accent colour too light for white text is refused
    (``Invalid``, naming ``brand.accent_color`` and the contrast ratio).
    """
    changed: list[str] = []
    logo_change = False
    if allowed_origins is not None:
        workspace.allowed_origins = origins_normalize(allowed_origins)
        changed.append("allowed_origins")
    if brand is not None:
        unknown = sorted(set(brand) - set(BRAND_KEYS))
        if unknown:
            raise Invalid(
                _("Unknown brand setting: %(keys)s.") % {"keys": ", ".join(unknown)},
                code="validation_error",
                fields={f"brand.{key}": _("Unknown setting.") for key in unknown},
            )
        if "name" in brand:
            workspace.brand_name = (brand["name"] or "").strip()
            changed.append("brand_name")
        if "accent_color" in brand:
            color = brand["accent_color"] or ""
            if color:
                try:
                    color = accent_color_normalize(color)
                except ValueError as error:
                    raise Invalid(
                        str(error),
                        code="accent_color_contrast",
                        fields={"brand.accent_color": str(error)},
                    ) from None
            workspace.brand_accent_color = color
            changed.append("brand_accent_color")
        if "support_email" in brand:
            workspace.brand_support_email = (brand["support_email"] or "").strip()
            changed.append("brand_support_email")
        logo_change = "logo" in brand
    if changed or logo_change:
        with transaction.atomic():
            if logo_change:
                workspace.brand_logo_key = _brand_logo_store(
                    workspace=workspace, logo=brand["logo"] if brand else None
                )
                changed.append("brand_logo_key")
            workspace.save(update_fields=changed)
            # The hosted pages read these too (framing, brand), through config caches.
            workspace_config_bump(workspace_id=workspace.pk)
        workspace.refresh_from_db(fields=["config_version"])
    return workspace


def _brand_logo_store(*, workspace: Workspace, logo: ProcessedLogo | None) -> str:
    """Store (or with None, delete) the workspace's logo; the new logo key."""
    if logo is None:
        BrandLogo.objects.filter(workspace=workspace).delete()
        return ""
    BrandLogo.objects.update_or_create(
        workspace=workspace,
        defaults={
            "key": logo.key,
            "content": logo.content,
            "content_type": logo.content_type,
            "width": logo.width,
            "height": logo.height,
        },
    )
    return logo.key
