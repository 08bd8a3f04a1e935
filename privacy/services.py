"""Erasing customers' personal data: on request (API, command) and after the
retention period (Celery beat).

This app stands on top of the others (DESIGN.md: no import goes upward): each
lower app erases its own rows (``surveys.services.sessions_personal_data_erase``,
``alerts.services.session_messages_erase``); this module picks the sessions,
runs those in one transaction, cleans Django's admin log, and records the
erasure (``ErasureRecord``).

What stays: every session, with its status, outcome, plan, MRR, dates, reason,
category, offer and experiment arm, so the funnel, the breakdowns and the
rollups (which hold no personal data and are not touched) keep their figures
exactly. The customer's id becomes a pseudonym, the same for the same workspace
and id every time (an HMAC with ``SECRET_KEY``), so erasing again finds the same
rows and the sessions of one customer stay one customer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model, Q
from django.utils import timezone
from django.utils.crypto import salted_hmac

from alerts.models import Alert, AlertChange
from alerts.services import session_messages_erase
from config.errors import NotFound
from offers.services import CONFIRMATION_KIND
from offers.subscription_events import subscription_events_erase
from outbound.models import Delivery, DeliveryAttempt, OutboxEvent
from privacy.models import ErasedBy, ErasureRecord
from privacy.selectors import customer_id_plausible
from surveys.models import CancelSession, Response, SessionStatus
from surveys.services import sessions_personal_data_erase
from workspaces.models import ApiKey, Workspace

PSEUDONYM_PREFIX = "erased_"
# What the admin log shows instead of erased words.
ERASED = "[erased]"
# Metadata kept through an erasure: the billing reference an outcome still to be
# applied in Stripe needs (like the subscription's id, which is kept too).
# (``offers.stripe_billing.subscription_id_for``).
KEEP_METADATA = ("stripe_subscription_id",)
# Deliveries that cannot go out once the customer's address is gone.
CANCEL_KINDS = (CONFIRMATION_KIND,)
RETENTION_BATCH = 500


def customer_pseudonym(*, workspace_id: int, customer_id: str) -> str:
    """The erased form of a customer's id: the same for the same workspace and id
    (so erasing twice, or grouping by customer, stays consistent), and not
    reversible without ``SECRET_KEY``."""
    digest = salted_hmac(
        "privacy.customer_pseudonym", f"{workspace_id}:{customer_id}", algorithm="sha256"
    ).hexdigest()
    return PSEUDONYM_PREFIX + digest[:32]


@dataclass(frozen=True)
class Actor:
    """Who erases: ``erased_by`` (an ``ErasedBy``) and how to show them."""

    erased_by: str
    label: str
    api_key: ApiKey | None = None
    user_id: int | None = None

    @classmethod
    def for_api_key(cls, api_key: ApiKey) -> Actor:
        return cls(ErasedBy.API_KEY, f"{api_key.name} ({api_key.prefix}…)", api_key=api_key)


RETENTION = Actor(ErasedBy.RETENTION, "retention")


@dataclass(frozen=True)
class ErasureCounts:
    sessions: int = 0
    answers: int = 0
    outbox_events: int = 0
    alerts: int = 0
    inbox_notes: int = 0
    deliveries: int = 0
    delivery_attempts: int = 0
    deliveries_cancelled: int = 0
    admin_log_entries: int = 0
    subscription_events: int = 0


def customer_session_ids(*, workspace: Workspace, customer_id: str) -> list[Any]:
    """The sessions held about a customer: under their id, and under its pseudonym
    (erased before, perhaps with notes or sessions added since)."""
    if not customer_id_plausible(customer_id):
        return []
    pseudonym = customer_pseudonym(workspace_id=workspace.pk, customer_id=customer_id)
    return list(
        CancelSession.objects.filter(
            workspace=workspace, customer_id__in=[customer_id, pseudonym]
        ).values_list("pk", flat=True)
    )


def customer_erase(
    *, workspace: Workspace, customer_id: str, actor: Actor, now: datetime | None = None
) -> ErasureRecord:
    """Erase one customer's personal data in the workspace (see the module's
    docstring) and record it. Idempotent: erasing again erases what was added
    since and records that. Raises ``NotFound`` when nothing is held about them."""
    now = now or timezone.now()
    pseudonym = customer_pseudonym(workspace_id=workspace.pk, customer_id=customer_id)
    with transaction.atomic():
        session_ids = customer_session_ids(workspace=workspace, customer_id=customer_id)
        if not session_ids:
            raise NotFound(
                "Nothing is held about this customer in this workspace.", code="customer_not_found"
            )
        counts = _sessions_erase(
            session_ids=session_ids,
            pseudonym=lambda _session: pseudonym,
            now=now,
            search_deleted=True,
            known=(customer_id,),
        )
        return _record(
            workspace=workspace,
            actor=actor,
            counts=counts,
            pseudonym=pseudonym,
            customers=1,
            now=now,
        )


def _sessions_erase(
    *,
    session_ids: list[Any],
    pseudonym: Callable[[CancelSession], str],
    now: datetime,
    search_deleted: bool,
    known: tuple[str, ...] = (),
) -> ErasureCounts:
    """Erase these sessions and everything about them, in the caller's transaction.
    ``known``: personal strings the rows may no longer hold (the id asked for, of
    a customer erased before) that the admin log may still quote."""
    # What the admin log may quote, read before it is erased.
    words = _personal_words(session_ids, known)
    sessions = sessions_personal_data_erase(
        session_ids=session_ids, pseudonym=pseudonym, keep_metadata=KEEP_METADATA, now=now
    )
    messages = session_messages_erase(session_ids=session_ids, cancel_kinds=CANCEL_KINDS)
    logged = _admin_log_erase(session_ids=session_ids, words=words, search_deleted=search_deleted)
    events = 0
    by_workspace: dict[int, list[str]] = {}
    for workspace_id, subscription_id in CancelSession.objects.filter(
        pk__in=session_ids
    ).values_list("workspace_id", "subscription_id"):
        by_workspace.setdefault(workspace_id, []).append(subscription_id)
    for workspace_id, subscription_ids in by_workspace.items():
        events += subscription_events_erase(
            workspace_id=workspace_id,
            subscription_ids=subscription_ids,
            pseudonym=partial(_event_pseudonym, workspace_id),
        )
    return ErasureCounts(
        sessions=sessions.sessions,
        answers=sessions.answers,
        admin_log_entries=logged,
        subscription_events=events,
        **asdict(messages),
    )


def _event_pseudonym(workspace_id: int, event_id: str) -> str:
    """A subscription event's erased id: the same for the same id, not reversible
    without ``SECRET_KEY``."""
    return salted_hmac(
        "privacy.subscription_event", f"{workspace_id}:{event_id}", algorithm="sha256"
    ).hexdigest()[:40]


def _record(
    *,
    workspace: Workspace,
    actor: Actor,
    counts: ErasureCounts,
    pseudonym: str,
    customers: int,
    now: datetime,
) -> ErasureRecord:
    return ErasureRecord.objects.create(
        workspace=workspace,
        erased_by=actor.erased_by,
        actor=actor.label[:200],
        api_key=actor.api_key,
        user_id=actor.user_id,
        pseudonym=pseudonym,
        customers=customers,
        counts=asdict(counts),
        created_at=now,
    )


# --- Django's admin log ---------------------------------------------------------------


def _personal_words(session_ids: list[Any], known: tuple[str, ...] = ()) -> list[str]:
    """The personal strings an admin log entry about these sessions may quote:
    ids, emails, names, the answers' words (and the 40 characters an answer's name
    shows), inbox notes. Longest first, so a longer one is replaced whole."""
    found: set[str] = set(known)
    for row in CancelSession.objects.filter(
        pk__in=session_ids, personal_data_erased_at=None
    ).values_list("customer_id", "customer_email", "customer_name", "return_url"):
        found.update(row)
    for text in Response.objects.filter(session_id__in=session_ids).values_list("text", flat=True):
        found.update((text, text[:40]))
    found.update(Alert.objects.filter(session_id__in=session_ids).values_list("notes", flat=True))
    found.update(
        AlertChange.objects.filter(alert__session_id__in=session_ids).values_list("note", flat=True)
    )
    # Very short strings ("a", "42") would blank unrelated words of an entry that
    # is about these rows anyway, whose name is rebuilt from the erased row.
    return sorted((w for w in found if len(w.strip()) >= 3), key=len, reverse=True)


def _admin_log_erase(*, session_ids: list[Any], words: list[str], search_deleted: bool) -> int:
    """Rewrite the admin log entries about these sessions and the rows that hang
    off them (answers, alerts, alert changes, events, deliveries, attempts): the
    object's name is rebuilt from the erased row, and any personal word in the
    name or the change message is replaced. With ``search_deleted``, entries about
    such rows deleted since (no row is left to tell whose they were) are found by
    the words they quote."""
    objects: dict[type[Model], Iterable[Any]] = {
        CancelSession: session_ids,
        Response: Response.objects.filter(session_id__in=session_ids).values_list("pk", flat=True),
        Alert: Alert.objects.filter(session_id__in=session_ids).values_list("pk", flat=True),
        AlertChange: AlertChange.objects.filter(alert__session_id__in=session_ids).values_list(
            "pk", flat=True
        ),
        OutboxEvent: OutboxEvent.objects.filter(subject_id__in=session_ids).values_list(
            "pk", flat=True
        ),
        Delivery: Delivery.objects.filter(event__subject_id__in=session_ids).values_list(
            "pk", flat=True
        ),
        DeliveryAttempt: DeliveryAttempt.objects.filter(
            delivery__event__subject_id__in=session_ids
        ).values_list("pk", flat=True),
    }
    types = ContentType.objects.get_for_models(*objects)
    models_by_type = {content_type.pk: model for model, content_type in types.items()}
    entries: dict[int, LogEntry] = {}
    rows: dict[tuple[int, str], Model] = {}
    for model, ids in objects.items():
        content_type = types[model]
        keys = [str(pk) for pk in ids]
        found = list(LogEntry.objects.filter(content_type=content_type, object_id__in=keys))
        if found:
            for row in model._default_manager.filter(pk__in={e.object_id for e in found}):
                rows[(content_type.pk, str(row.pk))] = row
            entries.update((entry.pk, entry) for entry in found)
    if search_deleted and words:
        quoted = Q()
        for word in words:
            quoted |= Q(object_repr__contains=word) | Q(change_message__contains=word)
        candidates = [
            entry
            for entry in LogEntry.objects.filter(quoted, content_type__in=list(types.values()))
            if entry.pk not in entries
        ]
        # Only entries whose row is gone: one about a row that still exists is
        # another customer's (or another workspace's), found by its row when erased.
        for content_type_id, model in models_by_type.items():
            mine = [e for e in candidates if e.content_type_id == content_type_id]
            existing = {
                str(pk)
                for pk in model._default_manager.filter(
                    pk__in=[e.object_id for e in mine if _valid_pk(model, e.object_id)]
                ).values_list("pk", flat=True)
            }
            entries.update((e.pk, e) for e in mine if e.object_id not in existing)
    changed = []
    for entry in entries.values():
        erased_row = rows.get((entry.content_type_id or 0, str(entry.object_id)))
        name = str(erased_row)[:200] if erased_row is not None else _scrub(entry.object_repr, words)
        message = _scrub(entry.change_message, words)
        if (name, message) != (entry.object_repr, entry.change_message):
            entry.object_repr, entry.change_message = name, message
            changed.append(entry)
    LogEntry.objects.bulk_update(changed, ["object_repr", "change_message"], batch_size=500)
    return len(changed)


def _valid_pk(model: type[Model], value: str | None) -> bool:
    """Whether ``value`` can be looked up as the model's primary key (an admin log
    entry's object id is text)."""
    try:
        model._meta.pk.to_python(value)
    except (ValidationError, ValueError, TypeError):
        return False
    return value is not None


def _scrub(text: str, words: list[str]) -> str:
    for word in words:
        if word in text:
            text = text.replace(word, ERASED)
        # A change message is JSON: a word with quotes or non-ASCII is escaped there.
        escaped = json.dumps(word)[1:-1]
        if escaped != word and escaped in text:
            text = text.replace(escaped, ERASED)
    return re.sub(r"(\[erased\])+", ERASED, text)


# --- Retention --------------------------------------------------------------------------


def retention_days(workspace: Workspace) -> int:
    """How long the workspace keeps personal data (0: until erased on request)."""
    if workspace.retain_personal_data_days is not None:
        return workspace.retain_personal_data_days
    return int(settings.RETAIN_PERSONAL_DATA_DAYS)


def retention_erase(*, now: datetime | None = None, batch_size: int = RETENTION_BATCH) -> int:
    """Erase the personal data of sessions finished (completed or abandoned) longer
    ago than their workspace keeps it, in batches of ``batch_size`` sessions, each
    its own transaction with its own ``ErasureRecord``. A session erased before is
    skipped, so a repeated or concurrent run erases nothing twice. Returns how many
    sessions were erased."""
    now = now or timezone.now()
    total = 0
    for workspace in Workspace.objects.order_by("pk"):
        days = retention_days(workspace)
        if days <= 0:
            continue
        cutoff = now - timedelta(days=days)
        while True:
            with transaction.atomic():
                batch = list(
                    CancelSession.objects.select_for_update(skip_locked=True)
                    .filter(
                        workspace=workspace,
                        status__in=[SessionStatus.COMPLETED, SessionStatus.ABANDONED],
                        completed_at__lt=cutoff,
                        personal_data_erased_at=None,
                    )
                    .order_by("completed_at")
                    .values_list("pk", "customer_id")[:batch_size]
                )
                if not batch:
                    break
                customers = {customer for _pk, customer in batch}
                counts = _sessions_erase(
                    session_ids=[pk for pk, _customer in batch],
                    pseudonym=lambda session: customer_pseudonym(
                        workspace_id=session.workspace_id, customer_id=session.customer_id
                    ),
                    now=now,
                    search_deleted=False,
                )
                _record(
                    workspace=workspace,
                    actor=RETENTION,
                    counts=counts,
                    pseudonym="",
                    customers=len(customers),
                    now=now,
                )
            total += len(batch)
            if len(batch) < batch_size:
                break
    return total
