"""The cancel flow: opening a session and its transitions.

The flow is a small state machine::

    started -> answered -> offered -> completed (saved | cancelled)
         \\________\\___________\\_____> completed (cancelled)   [cancel at any step]
         \\________\\___________\\_____> completed (saved, kept) [keep at any step]
    open sessions left too long -> abandoned

Each transition below locks the session row, checks the state, writes, and is
safe to repeat: a double click or a retried request returns the same result and
never records a second outcome.

Each transition publishes one domain event (``config.events``) in its
transaction: ``session.opened``, ``session.answered``, ``session.completed``,
``session.abandoned``. The higher apps subscribe to them (the offer shown, the
terms accepted, the rollups, the outbox, billing and confirmation); this module
names none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.errors import Conflict, Gone, Invalid, NotFound
from config.events import DomainEvent, publish
from config.orm import row_insert
from surveys.categorization.pipeline import Categorization, categorizer_for
from surveys.locales import localized, normalize_locale
from surveys.models import (
    OPEN_STATUSES,
    CancelSession,
    CategorySource,
    CompetitorMention,
    Outcome,
    Response,
    SessionStatus,
    TextMode,
)
from surveys.repository import session_row, session_update
from surveys.selectors import survey_reasons
from workspaces.models import Workspace

SESSION_OPENED = "session.opened"
SESSION_ANSWERED = "session.answered"
SESSION_COMPLETED = "session.completed"
SESSION_ABANDONED = "session.abandoned"
# Changes that are not transitions but move the session's figures.
SESSION_RELABELLED = "session.relabelled"
SESSION_LOCALE_CHANGED = "session.locale_changed"
SESSION_EVENTS = (
    SESSION_OPENED,
    SESSION_ANSWERED,
    SESSION_COMPLETED,
    SESSION_ABANDONED,
    SESSION_RELABELLED,
    SESSION_LOCALE_CHANGED,
)

# --- The event of a change ----------------------------------------------------------


@dataclass(frozen=True)
class SessionSnapshot:
    """What a session looked like before (or after) a change: the parts that
    analytics, alerts and outcome webhooks care about. ``None`` as the snapshot
    means "did not exist"."""

    status: str
    outcome: str
    kept: bool
    locale: str
    reason_code: str
    category_code: str
    offer_id: int | None
    completed_at: datetime | None

    @classmethod
    def of(cls, session: CancelSession, *, new: bool = False) -> SessionSnapshot:
        """``new``: the session was just made, so it has no answer (no query)."""
        response = None if new else getattr(session, "response", None)
        return cls(
            status=session.status,
            outcome=session.outcome,
            kept=session.kept,
            locale=session.locale,
            reason_code=response.reason_code if response is not None else "",
            category_code=response.category_id if response is not None else "",
            offer_id=session.offer_id,
            completed_at=session.completed_at,
        )


def session_event_publish(
    *,
    name: str,
    session: CancelSession,
    before: SessionSnapshot | None,
    now: datetime,
    fields: list[str] | None = None,
    data: dict[str, Any] | None = None,
) -> DomainEvent:
    """Every change of a session (or its answer) ends here, inside its
    transaction: publish its one event. The session's changed ``fields`` are
    written together with those the subscribers changed (the offer shown, the
    terms accepted), in one statement, by surveys' own subscriber
    (``session_fields_write``, ``surveys.subscribers.SESSION_WRITE_ORDER``): after
    the subscribers that change the session, before the rollups. The subscribers
    record what follows from the change (rollups, alerts, outcome webhooks)
    atomically with it; an error in one rolls the change back."""
    event = publish(
        DomainEvent(
            name=name,
            workspace_id=session.workspace_id,
            at=now,
            session=session,
            before=before,
            after=SessionSnapshot.of(session, new=before is None),
            data=data or {},
            session_fields=list(fields or ()),
        )
    )
    # Anything named after the write (or all of it, were surveys' subscriber
    # not registered) is written now: never lost, one statement more.
    session_fields_write(event)
    return event


def session_fields_write(event: DomainEvent) -> None:
    """Write the fields of ``event.session`` named so far in one UPDATE, once:
    ``event.session_fields`` is then empty."""
    if event.session_fields:
        fields = list(dict.fromkeys(event.session_fields))
        event.session_fields.clear()
        session_update(event.session, fields)


# --- The flow -------------------------------------------------------------------


def _locked_session(token: str, *, now: datetime, with_history: bool = False) -> CancelSession:
    """The session, locked, with its workspace, survey, offer and answer: one
    query (``surveys.repository``). ``with_history`` adds the customer's past
    acceptances to that same query (when they last accepted an offer, and which
    offers), which is what the offer cooldown and the per-customer caps need."""
    session = session_row(token=token, locked=True, with_history=with_history)
    if session is None:
        raise NotFound("This cancel link is not valid.", code="session_not_found")
    return session


def _require_usable(session: CancelSession, *, now: datetime) -> None:
    if session.status == SessionStatus.COMPLETED:
        raise Conflict("This cancellation is already complete.", code="session_completed")
    if session.token_expires_at <= now or session.status == SessionStatus.ABANDONED:
        raise Gone("This cancel link has expired. Please start again.", code="session_expired")


def _categorize_answer(
    response: Response, workspace: Workspace, *, chosen: str
) -> Categorization | None:
    """Set the answer's category. A chosen reason gives it, unless it is "other":
    then the customer's words are categorised (rules, the workspace's model, else
    "other" queued for review). No query: the categoriser is cached per
    configuration version."""
    response.category_id = chosen
    response.category_source = CategorySource.CHOICE
    response.category_confidence = 1.0
    response.model_version = ""
    response.needs_review = False
    if not response.text:
        return None
    found = categorizer_for(workspace=workspace).categorize(response.text)
    if chosen == "other":
        response.category_id = found.category
        response.category_source = CategorySource(found.source)
        response.category_confidence = found.confidence
        response.model_version = found.model_version
        response.needs_review = found.needs_review
    return found


def _mentions_record(response: Response, competitors: tuple[int, ...], *, replace: bool) -> None:
    """Tag the competitors the answer names (a query only when there are some)."""
    if replace:
        CompetitorMention.objects.filter(response=response).delete()
    if competitors:
        CompetitorMention.objects.bulk_create(
            [
                CompetitorMention(
                    workspace_id=response.workspace_id,
                    response=response,
                    competitor_id=competitor,
                    created_at=timezone.now(),
                )
                for competitor in competitors
            ],
            ignore_conflicts=True,
        )


def session_answer(
    *, token: str, reason_code: str, text: str = "", now: datetime | None = None
) -> CancelSession:
    """Record why the customer is leaving and pick at most one offer.

    Answering again before the end replaces the answer; an offer already shown
    stays the only one.
    """
    now = now or timezone.now()
    text = (text or "").strip()
    limit = settings.RESPONSE_TEXT_MAX_LENGTH
    if len(text) > limit:
        raise Invalid(
            f"The text is too long ({len(text)} characters; the limit is {limit}).",
            code="text_too_long",
            fields={"text": f"at most {limit} characters"},
        )
    with transaction.atomic():
        session = _locked_session(token, now=now, with_history=True)
        _require_usable(session, now=now)
        before = SessionSnapshot.of(session)
        reason = next(
            (
                r
                for r in survey_reasons(survey_id=session.survey_id, version=session.survey.version)
                if r.code == reason_code
            ),
            None,
        )
        if reason is None:
            raise Invalid(
                f"Unknown reason {reason_code!r}.",
                code="unknown_reason",
                fields={"reason": "not one of this survey's reasons"},
            )
        if reason.text_mode == TextMode.REQUIRED and not text:
            raise Invalid(
                "Please tell us a little more.",
                code="text_required",
                fields={"text": "required for this reason"},
            )
        if reason.text_mode == TextMode.NONE:
            text = ""
        locale = session.locale or session.workspace.default_locale
        response = getattr(session, "response", None)
        if response is not None and response.reason_id == reason.pk and response.text == text:
            return session  # the same answer again: nothing to do
        answered_before = response is not None
        if response is None:
            response = Response(
                session=session,
                workspace_id=session.workspace_id,
                session_created_at=session.created_at,
                plan=session.plan,
            )
        response.reason = reason
        response.reason_code = reason.code
        response.reason_label = localized(reason.label, locale)[:300]
        response.survey_version = session.survey_version
        response.text = text
        response.locale = locale
        found = _categorize_answer(response, session.workspace, chosen=reason.category_id)
        if answered_before:
            response.save()
        else:
            row_insert(response)  # response.save(), the statement compiled once
        session.response = response
        _mentions_record(response, found.competitors if found else (), replace=answered_before)

        fields = ["status"]
        if session.answered_at is None:
            session.answered_at = now
            fields.append("answered_at")
        if session.offer_id is None and session.experiment_variant_id is None:
            # Not offered yet: the subscribers may pick the one offer to show (at
            # most one per session: once shown, a changed answer keeps it, and a
            # customer in an experiment's control arm stays without one).
            session.status = SessionStatus.ANSWERED
        session_event_publish(
            name=SESSION_ANSWERED, session=session, before=before, now=now, fields=fields
        )
    return session


def session_accept(
    *, token: str, offer_id: int, months: int | None = None, now: datetime | None = None
) -> CancelSession:
    """The customer takes the offer they were shown: outcome ``saved``, with the
    terms as applied (for a pause, the months they chose and the resume date)
    stored on the session and sent in the outcome webhook.

    Repeating the same acceptance returns the session; accepting anything else
    afterwards (another offer, another pause length) is a conflict. An offer not
    shown, a finished or expired session, or a pause length outside the offer's
    bounds are refused and change nothing.
    """
    now = now or timezone.now()
    with transaction.atomic():
        session = _locked_session(token, now=now)
        if session.outcome == Outcome.SAVED and not session.kept:
            if session.offer_id == offer_id and (
                months is None or (session.accepted_terms or {}).get("months") == months
            ):
                return session  # a repeat of the same acceptance
            raise Conflict(
                "Another offer or other terms were already accepted in this session.",
                code="offer_already_accepted",
                fields={"offer": "the session is already saved with other terms"},
            )
        if session.status == SessionStatus.COMPLETED:
            raise Conflict(_ended(session), code="session_completed")
        _require_usable(session, now=now)
        if session.offer is None or session.offer_id != offer_id:
            raise Conflict(
                "That offer was not shown in this session.",
                code="offer_not_shown",
                fields={"offer": "not the offer shown"},
            )
        # The subscribers set the terms as applied (refusing a pause length
        # outside the offer's bounds, which rolls this back).
        _complete(session, outcome=Outcome.SAVED, now=now, data={"months": months})
    return session


def session_cancel(*, token: str, now: datetime | None = None) -> CancelSession:
    """The customer cancels: outcome ``cancelled``. Possible from every step.

    A session already marked abandoned can still be cancelled while its link is
    valid: a customer who comes back to cancel is never turned away.
    """
    now = now or timezone.now()
    with transaction.atomic():
        session = _locked_session(token, now=now)
        if session.outcome == Outcome.CANCELLED:
            return session  # a repeat
        if session.status == SessionStatus.COMPLETED:
            raise Conflict(_ended(session), code="session_completed")
        if session.token_expires_at <= now:
            raise Gone("This cancel link has expired. Please start again.", code="session_expired")
        _complete(session, outcome=Outcome.CANCELLED, now=now)
    return session


def session_keep(*, token: str, now: datetime | None = None) -> CancelSession:
    """The customer keeps their subscription without taking an offer ("keep my
    subscription"): outcome ``saved``, ``kept``, no offer accepted. Possible from
    every step, like cancelling, and from a session marked abandoned while its
    link is valid (the customer came back).

    Repeating it returns the session; after another outcome (cancelled, or an
    offer accepted) it is a conflict that names that outcome.
    """
    now = now or timezone.now()
    with transaction.atomic():
        session = _locked_session(token, now=now)
        if session.outcome == Outcome.SAVED and session.kept:
            return session  # a repeat
        if session.status == SessionStatus.COMPLETED:
            raise Conflict(_ended(session), code="session_completed")
        if session.token_expires_at <= now:
            raise Gone("This cancel link has expired. Please start again.", code="session_expired")
        _complete(session, outcome=Outcome.SAVED, now=now, kept=True)
    return session


def _ended(session: CancelSession) -> str:
    """How a finished session ended, for the conflict a later transition gets."""
    if session.outcome == Outcome.CANCELLED:
        return "This session already ended with the subscription cancelled."
    if session.kept:
        return "This session already ended with the subscription kept."
    return "This session already ended with the offer accepted."


def _complete(
    session: CancelSession,
    *,
    outcome: str,
    now: datetime,
    kept: bool = False,
    data: dict[str, Any] | None = None,
) -> None:
    """End the session with ``outcome`` (``kept``: saved without an offer) and
    publish ``session.completed``, in the caller's transaction (the session is
    locked)."""
    before = SessionSnapshot.of(session)
    session.status = SessionStatus.COMPLETED
    session.outcome = outcome
    session.kept = kept
    session.completed_at = now
    session_event_publish(
        name=SESSION_COMPLETED,
        session=session,
        before=before,
        now=now,
        fields=["status", "outcome", "kept", "completed_at"],
        data=data,
    )


def mark_abandoned(session: CancelSession, *, now: datetime) -> None:
    before = SessionSnapshot.of(session)
    session.status = SessionStatus.ABANDONED
    session.outcome = Outcome.ABANDONED
    session.completed_at = now
    session_event_publish(
        name=SESSION_ABANDONED,
        session=session,
        before=before,
        now=now,
        fields=["status", "outcome", "completed_at"],
    )


def sessions_abandon_stale(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Mark sessions left open longer than SESSION_ABANDON_AFTER as abandoned.

    Works in small locked batches (skipping rows a customer is using right now),
    so it is safe to run from several workers and to repeat.
    """
    now = now or timezone.now()
    cutoff = now - settings.SESSION_ABANDON_AFTER
    total = 0
    while True:
        with transaction.atomic():
            batch = list(
                CancelSession.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("workspace", "response")
                .filter(status__in=OPEN_STATUSES, created_at__lt=cutoff)
                .order_by("created_at")[:batch_size]
            )
            for session in batch:
                mark_abandoned(session, now=now)
        total += len(batch)
        if len(batch) < batch_size:
            return total


def session_set_locale(*, token: str, locale: str) -> CancelSession:
    """The customer picked a language on the page; later pages and emails use it."""
    normalized = normalize_locale(locale)
    if normalized is None:
        raise Invalid(f"Unsupported language {locale!r}.", code="unsupported_locale")
    with transaction.atomic():
        session = _locked_session(token, now=timezone.now())
        if session.locale != normalized:
            before = SessionSnapshot.of(session)
            session.locale = normalized
            session_event_publish(
                name=SESSION_LOCALE_CHANGED,
                session=session,
                before=before,
                now=timezone.now(),
                fields=["locale"],
            )
    return session
