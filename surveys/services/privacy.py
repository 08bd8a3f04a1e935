"""Erasing a customer's personal data from their sessions and answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from surveys.models import CancelSession, Response, SessionIdempotencyKey


@dataclass(frozen=True)
class SessionsErased:
    sessions: int
    answers: int


def sessions_personal_data_erase(
    *,
    session_ids: list[Any],
    pseudonym: Callable[[CancelSession], str],
    keep_metadata: tuple[str, ...] = (),
    now: datetime | None = None,
) -> SessionsErased:
    """Erase the personal data of these sessions and their answers, keeping every
    figure the analytics count (status, outcome, plan, MRR, dates, reason,
    category, offer): the customer's id becomes ``pseudonym(session)`` (left as
    it is on a session erased before), email, name, return URL, the idempotency
    key and fingerprint (a hash of the request) are emptied, metadata keeps
    only the ``keep_metadata`` keys, and the answers' words are emptied (the
    search indexes are on the text itself, so they follow; the category found in
    them stays, and the answer leaves the review queue). Rows are locked, so
    a flow step running now finishes first or sees the erased row."""
    now = now or timezone.now()
    with transaction.atomic():
        sessions = list(
            CancelSession.objects.select_for_update(of=("self",))
            .filter(pk__in=session_ids)
            .order_by("pk")
        )
        for session in sessions:
            if session.personal_data_erased_at is None:
                session.customer_id = pseudonym(session)
                session.personal_data_erased_at = now
            session.customer_email = ""
            session.customer_name = ""
            session.return_url = ""
            # The host's key may be built from the customer's id; a retry this late
            # has nothing left to replay.
            session.idempotency_key = ""
            session.request_fingerprint = ""
            session.metadata = {
                key: value
                for key, value in (session.metadata or {}).items()
                if key in keep_metadata
            }
        CancelSession.objects.bulk_update(
            sessions,
            [
                "customer_id",
                "customer_email",
                "customer_name",
                "return_url",
                "idempotency_key",
                "request_fingerprint",
                "metadata",
                "personal_data_erased_at",
            ],
            batch_size=500,
        )
        # Keys kept apart from the session (for a repeat that found it open) too.
        SessionIdempotencyKey.objects.filter(session_id__in=[s.pk for s in sessions]).delete()
        answers = Response.objects.filter(session_id__in=[s.pk for s in sessions])
        answered = answers.count()
        # With no words left there is nothing to review: out of the review queue.
        answers.exclude(text="", needs_review=False).update(text="", needs_review=False)
    return SessionsErased(sessions=len(sessions), answers=answered)
