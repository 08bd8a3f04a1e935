"""What offers does when a session changes (``config.events``), in the flow's
transaction. Registered in ``OffersConfig.ready``:

- ``session.answered``, order 10: pick the one offer the answer gets;
- ``session.completed``, order 10: the terms as applied when the offer was
  accepted (a pause length outside the offer's bounds is refused, and the
  acceptance rolls back);
- ``session.completed``, order 15: a save's first cancellation recorded already
  (``offers.saves``: an event may come before the session that names its
  subscription);
- every session event, orders 40 and 50: queue the customer's confirmation and
  applying the outcome in Stripe, on the outbox row alerts recorded (order 30).
"""

from __future__ import annotations

from datetime import UTC

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from config.events import DomainEvent, subscribe
from offers.saves import save_first_cancellation
from offers.selectors import CustomerHistory, SessionFacts, offer_pick, tenure_days
from offers.services import accepted_terms_for, outcome_billing_queue, outcome_confirmation_queue
from surveys.models import CancelSession, Outcome, SessionStatus
from surveys.services import (
    SESSION_ANSWERED,
    SESSION_COMPLETED,
    SESSION_EVENTS,
    SessionSnapshot,
)

OFFER_CHOICE_ORDER = 10
ACCEPTED_TERMS_ORDER = 10
SAVE_CANCELLED_ORDER = 15
CONFIRMATION_ORDER = 40
BILLING_ORDER = 50


def customer_history(session: CancelSession) -> CustomerHistory:
    """The customer's past acceptances, as the flow's locked-session query
    annotated them on the session (``history_last_saved_at``,
    ``history_offer_ids``: comma-separated offer ids)."""
    ids = getattr(session, "history_offer_ids", None) or ""
    last = getattr(session, "history_last_saved_at", None)
    if isinstance(last, str):  # SQLite hands back a subquery's datetime as text
        last = parse_datetime(last)
        if last is not None and timezone.is_naive(last):
            last = timezone.make_aware(last, UTC)
    return CustomerHistory(
        last_saved_at=last,
        accepted_offer_ids=tuple(int(i) for i in str(ids).split(",") if i.strip()),
    )


def offer_choose(event: DomainEvent) -> None:
    """At most one offer per session: once shown, a changed answer keeps it, and
    a customer in an experiment's control arm stays without one. No query: the
    rules are cached per configuration version."""
    session: CancelSession = event.session
    if session.offer_id is not None or session.experiment_variant_id is not None:
        return
    response = session.response
    pick = offer_pick(
        workspace=session.workspace,
        facts=SessionFacts(
            reason=response.reason_code,
            category=response.category_id,
            plan=session.plan,
            mrr_cents=session.mrr_cents,
            tenure_days=tenure_days(session.subscription_started_at, event.at),
            locale=response.locale,
            metadata=session.metadata or {},
        ),
        customer_id=session.customer_id,
        history=customer_history(session),
        now=event.at,
    )
    if pick.variant_id is not None:
        session.experiment_variant_id = pick.variant_id
        event.session_fields.append("experiment_variant")
    if pick.offer is not None:
        session.offer = pick.offer
        session.offered_at = event.at
        session.status = SessionStatus.OFFERED
        event.session_fields += ["status", "offer", "offered_at"]
        event.after = SessionSnapshot.of(session)


def accepted_terms_set(event: DomainEvent) -> None:
    session: CancelSession = event.session
    if session.outcome != Outcome.SAVED or session.kept or session.offer is None:
        return  # nothing accepted (cancelled, or kept without taking the offer)
    session.accepted_terms = accepted_terms_for(
        offer=session.offer, session=session, months=event.data.get("months"), now=event.at
    )
    event.session_fields.append("accepted_terms")


def save_cancelled_set(event: DomainEvent) -> None:
    """A save keeps its first cancellation at or after it (one already recorded,
    if any), which the saves figure reads (``offers.saves``): worked out by the
    session's own UPDATE. The session is locked, so a cancellation recorded
    meanwhile waits for the save and sees it."""
    session: CancelSession = event.session
    if session.outcome != Outcome.SAVED:
        return
    # Set from SQL as the session is written (its value handed back then).
    session.save_cancelled_at = save_first_cancellation(session)  # type: ignore[assignment]
    event.session_fields.append("save_cancelled_at")


def confirmation_queue(event: DomainEvent) -> None:
    outcome_confirmation_queue(session=event.session, event=event.records.get("outbox"))


def billing_queue(event: DomainEvent) -> None:
    outcome_billing_queue(session=event.session, event=event.records.get("outbox"))


def register() -> None:
    subscribe(SESSION_ANSWERED, offer_choose, order=OFFER_CHOICE_ORDER)
    subscribe(SESSION_COMPLETED, accepted_terms_set, order=ACCEPTED_TERMS_ORDER)
    subscribe(SESSION_COMPLETED, save_cancelled_set, order=SAVE_CANCELLED_ORDER)
    for name in SESSION_EVENTS:
        subscribe(name, confirmation_queue, order=CONFIRMATION_ORDER)
        subscribe(name, billing_queue, order=BILLING_ORDER)
