"""Opening a cancel session: one open session per subscription, and an
Idempotency-Key that gives a repeated request what the first one got."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.errors import Conflict, Invalid
from config.orm import CompiledQuery, row_insert, row_insert_unless
from surveys.locales import normalize_locale
from surveys.models import OPEN_STATUSES, CancelSession, SessionIdempotencyKey, Survey
from surveys.services.flow import SESSION_OPENED, mark_abandoned, session_event_publish
from workspaces.config_cache import ConfigCache
from workspaces.models import Workspace
from workspaces.origins import url_on_origins

# --- Opening a session --------------------------------------------------------------

# The two reads of every opening, compiled once (``config.orm.CompiledQuery``).
_SURVEY_TO_OPEN = CompiledQuery(
    lambda workspace_id: Survey.objects.filter(workspace_id=workspace_id, is_active=True).order_by(
        "-is_default", "id"
    )[:1],
    workspace_id=-710_001,
)
# Which survey a new session gets is configuration: every change to a workspace's
# surveys (admin, services) bumps its config_version, so it is read once per
# version and process. The instance is shared: nothing on the way writes to it.
_OPENING_SURVEY: ConfigCache[Survey | None] = ConfigCache(
    lambda workspace: _SURVEY_TO_OPEN.first(workspace_id=workspace.pk)
)
ONE_OPEN_SESSION = "one_open_session_per_subscription"
_OPEN_SESSION_LOCKED = CompiledQuery(
    lambda workspace_id, subscription_id: (
        CancelSession.objects.select_for_update()
        .filter(
            workspace_id=workspace_id, subscription_id=subscription_id, status__in=OPEN_STATUSES
        )
        .order_by("pk")[:1]
    ),
    workspace_id=-710_002,
    subscription_id="<subscription id>",
)


@dataclass(frozen=True)
class CustomerInput:
    id: str
    email: str = ""
    name: str = ""


@dataclass(frozen=True)
class SubscriptionInput:
    id: str
    plan: str = ""
    mrr_cents: int = 0
    currency: str = ""
    started_at: datetime | None = None
    current_period_end: datetime | None = None


@dataclass(frozen=True)
class OpenedSession:
    session: CancelSession
    created: bool


def request_fingerprint(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def session_open(
    *,
    workspace: Workspace,
    customer: CustomerInput,
    subscription: SubscriptionInput,
    locale: str | None = None,
    return_url: str = "",
    metadata: dict[str, Any] | None = None,
    idempotency_key: str = "",
    fingerprint: str = "",
    source: str = "api",
    now: datetime | None = None,
) -> OpenedSession:
    """Open a cancel session, or return the one already open for the subscription.

    With an ``idempotency_key``, a repeat of the same request gets what the first
    got (the same session, and whether it was made then), even when the two race;
    the same key with a different body (``fingerprint``) is always a conflict. A
    ``return_url`` must be on the workspace's allowed origins when it has any.
    """
    now = now or timezone.now()
    if idempotency_key:
        replayed = _idempotent_replay(
            workspace=workspace, idempotency_key=idempotency_key, fingerprint=fingerprint
        )
        if replayed is not None:
            return replayed
    if return_url and not url_on_origins(return_url, workspace.allowed_origins):
        raise Invalid(
            "The return_url is not on one of the workspace's allowed origins.",
            code="return_url_not_allowed",
        )

    survey = _OPENING_SURVEY.get(workspace)
    if survey is None:
        raise Conflict("This workspace has no active survey.", code="no_survey")

    try:
        with transaction.atomic():
            opened = _session_insert(
                _session_new(
                    workspace=workspace,
                    survey=survey,
                    customer=customer,
                    subscription=subscription,
                    locale=locale,
                    return_url=return_url,
                    metadata=metadata,
                    idempotency_key=idempotency_key,
                    fingerprint=fingerprint,
                    source=source,
                    now=now,
                ),
                now=now,
            )
            if idempotency_key:
                _idempotency_key_record(
                    workspace=workspace, key=idempotency_key, fingerprint=fingerprint, opened=opened
                )
    except IntegrityError:
        # A concurrent request committed first (the insert hit the Idempotency-Key or
        # the one-open-session constraint and nothing was kept). The key decides
        # first, with the same fingerprint check as above: a racer with another body
        # gets a 409, never the winner's session.
        if idempotency_key:
            replayed = _idempotent_replay(
                workspace=workspace, idempotency_key=idempotency_key, fingerprint=fingerprint
            )
            if replayed is not None:
                return replayed
        winner = CancelSession.objects.filter(
            workspace=workspace, subscription_id=subscription.id, status__in=OPEN_STATUSES
        ).first()
        if winner is None:
            raise
        opened = OpenedSession(session=winner, created=False)
        if idempotency_key:
            try:
                with transaction.atomic():
                    _idempotency_key_record(
                        workspace=workspace,
                        key=idempotency_key,
                        fingerprint=fingerprint,
                        opened=opened,
                    )
            except IntegrityError:
                replayed = _idempotent_replay(
                    workspace=workspace, idempotency_key=idempotency_key, fingerprint=fingerprint
                )
                if replayed is None:
                    raise
                return replayed
    return opened


def _idempotency_key_record(
    *, workspace: Workspace, key: str, fingerprint: str, opened: OpenedSession
) -> None:
    """Remember what the first request with this key got; IntegrityError when a
    concurrent request with the key got there first."""
    SessionIdempotencyKey.objects.create(
        workspace=workspace,
        key=key,
        request_fingerprint=fingerprint,
        session=opened.session,
        created=opened.created,
    )


def _idempotent_replay(
    *, workspace: Workspace, idempotency_key: str, fingerprint: str
) -> OpenedSession | None:
    """What the first request with this Idempotency-Key got (the same session, and
    whether it was made then); a conflict when the body differs; None when the key
    is new."""
    used = (
        SessionIdempotencyKey.objects.select_related("session")
        .filter(workspace=workspace, key=idempotency_key)
        .first()
    )
    if used is None:
        return None
    if used.request_fingerprint != fingerprint:
        raise Conflict(
            "This Idempotency-Key was used with a different request body.",
            code="idempotency_key_reused",
        )
    return OpenedSession(session=used.session, created=used.created)


def _session_insert(session: CancelSession, *, now: datetime) -> OpenedSession:
    """The open session for the subscription, or a new one; in the caller's
    transaction (an expired open session is marked abandoned first).

    Most openings are for a subscription with no open session: the insert is
    tried first and skipped on a clash with the one-open-session constraint (one
    statement); only then is the open session read, locked."""
    if not row_insert_unless(session, constraint=ONE_OPEN_SESSION):
        current = _OPEN_SESSION_LOCKED.first(
            workspace_id=session.workspace_id, subscription_id=session.subscription_id
        )
        if current is not None:
            if current.token_expires_at > now:
                return OpenedSession(session=current, created=False)
            current.workspace = session.workspace
            mark_abandoned(current, now=now)
        # The clash is gone (abandoned here, or ended since): a plain insert now,
        # and a racer that got in first is the caller's IntegrityError.
        row_insert(session)
    session_event_publish(name=SESSION_OPENED, session=session, before=None, now=now)
    return OpenedSession(session=session, created=True)


def _session_new(
    *,
    workspace: Workspace,
    survey: Survey,
    customer: CustomerInput,
    subscription: SubscriptionInput,
    locale: str | None,
    return_url: str,
    metadata: dict[str, Any] | None,
    idempotency_key: str,
    fingerprint: str,
    source: str,
    now: datetime,
) -> CancelSession:
    """A new session, not yet written."""
    return CancelSession(
        workspace=workspace,
        survey=survey,
        survey_version=survey.version,
        token_expires_at=now + settings.SESSION_TOKEN_TTL,
        customer_id=customer.id,
        customer_email=customer.email,
        customer_name=customer.name,
        subscription_id=subscription.id,
        plan=subscription.plan,
        mrr_cents=subscription.mrr_cents,
        currency=(subscription.currency or workspace.currency).upper(),
        subscription_started_at=subscription.started_at,
        current_period_end=subscription.current_period_end,
        locale=normalize_locale(locale) or "",
        return_url=return_url,
        metadata=metadata or {},
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
        source=source,
        created_at=now,
    )
