"""The domain-event bus: handlers run in their stated order, in the publisher's
transaction, and a failing one rolls the change back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from django.db import transaction

from config import events
from config.events import DomainEvent, publish, subscribe, subscribers, unsubscribe
from surveys.models import CancelSession, Outcome, SessionStatus
from surveys.services import (
    SESSION_ABANDONED,
    SESSION_ANSWERED,
    SESSION_COMPLETED,
    SESSION_EVENTS,
    SESSION_OPENED,
    session_answer,
    session_cancel,
)
from tests.factories import make_offer, make_session, make_workspace

AT = datetime(2026, 1, 1, tzinfo=UTC)
seen: list[str] = []


def first(event: DomainEvent) -> None:
    seen.append("first")


def second(event: DomainEvent) -> None:
    seen.append("second")


def third(event: DomainEvent) -> None:
    seen.append("third")


@pytest.fixture
def clean() -> Iterator[None]:
    seen.clear()
    yield
    for handler in (first, second, third):
        unsubscribe("test.happened", handler)


def test_handlers_run_in_their_stated_order_not_their_arrival(clean: None) -> None:
    subscribe("test.happened", third, order=30)
    subscribe("test.happened", first, order=10)
    subscribe("test.happened", second, order=10)  # same order: after the earlier one
    subscribe("test.happened", first, order=10)  # subscribing twice keeps one
    publish(DomainEvent(name="test.happened", workspace_id=1, at=AT))
    assert seen == ["first", "second", "third"]
    publish(DomainEvent(name="test.happened", workspace_id=1, at=AT))
    assert seen == ["first", "second", "third"] * 2  # stable
    publish(DomainEvent(name="test.other", workspace_id=1, at=AT))
    assert len(seen) == 6


def test_the_apps_subscribe_in_the_stated_order(db: None) -> None:
    """offers decides (the offer shown, the terms accepted), analytics counts,
    alerts records the outbox row, offers queues confirmation and billing on it."""
    after = [
        "analytics.subscribers.rollups_update",
        "alerts.subscribers.outbox_record",
        "offers.subscribers.confirmation_queue",
        "offers.subscribers.billing_queue",
    ]
    # surveys counts outcomes and categorisations for /metrics last, after commit.
    outcomes = ["surveys.subscribers.outcome_count"]
    assert subscribers(SESSION_OPENED) == after
    assert subscribers(SESSION_ABANDONED) == [*after, *outcomes]
    assert subscribers(SESSION_ANSWERED) == [
        "offers.subscribers.offer_choose",
        *after,
        "surveys.subscribers.categorization_count",
    ]
    assert subscribers(SESSION_COMPLETED) == [
        "offers.subscribers.accepted_terms_set",
        "offers.subscribers.save_cancelled_set",
        *after,
        *outcomes,
    ]
    assert subscribers("workspace.created") == ["surveys.subscribers.default_survey_create"]


def test_each_transition_publishes_exactly_one_event(db: None, monkeypatch) -> None:
    published: list[tuple[str, str | None, str]] = []
    real_publish = events.publish

    def recording(event: DomainEvent) -> DomainEvent:
        real_publish(event)
        published.append(
            (event.name, event.before.status if event.before else None, event.after.status)
        )
        return event

    monkeypatch.setattr("surveys.services.flow.publish", recording)
    workspace = make_workspace()
    make_offer(workspace)
    session = make_session(workspace)
    answered = session_answer(token=session.token, reason_code="too_expensive")
    session_cancel(token=session.token)
    assert published == [
        (SESSION_OPENED, None, SessionStatus.STARTED),
        # the subscriber's choice (the offer shown) is in the event's after
        (SESSION_ANSWERED, SessionStatus.STARTED, SessionStatus.OFFERED),
        (SESSION_COMPLETED, SessionStatus.OFFERED, SessionStatus.COMPLETED),
    ]
    assert answered.offer is not None  # session_answer returns the offer chosen
    assert set(SESSION_EVENTS) >= {SESSION_OPENED, SESSION_ANSWERED, SESSION_COMPLETED}


def failing(event: DomainEvent) -> None:
    raise RuntimeError("subscriber failed")


@pytest.mark.django_db(transaction=True)
def test_a_failing_subscriber_rolls_the_transition_back() -> None:
    from analytics.models import SessionRollup
    from outbound.models import OutboxEvent

    workspace = make_workspace()
    session = make_session(workspace)
    rollups = list(SessionRollup.objects.values_list("sessions", flat=True).order_by("pk"))
    subscribe(SESSION_COMPLETED, failing, order=35)  # after the outbox row is written
    try:
        with pytest.raises(RuntimeError):
            session_cancel(token=session.token)
    finally:
        unsubscribe(SESSION_COMPLETED, failing)
    session.refresh_from_db()
    assert (session.status, session.outcome) == (SessionStatus.STARTED, "")
    assert not OutboxEvent.objects.filter(subject_id=session.pk).exists()
    assert list(SessionRollup.objects.values_list("sessions", flat=True).order_by("pk")) == rollups
    # Without it the same cancel goes through.
    session_cancel(token=session.token)
    session.refresh_from_db()
    assert session.outcome == Outcome.CANCELLED
    assert OutboxEvent.objects.filter(subject_id=session.pk).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_failing_subscriber_rolls_a_new_workspace_back() -> None:
    from surveys.models import Survey
    from workspaces.models import Workspace

    subscribe("workspace.created", failing, order=20)
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            make_workspace(slug="doomed")
    finally:
        unsubscribe("workspace.created", failing)
    assert not Workspace.objects.filter(slug="doomed").exists()
    assert not Survey.objects.filter(workspace__slug="doomed").exists()
    workspace = make_workspace(slug="kept")
    assert Survey.objects.filter(workspace=workspace, is_default=True).count() == 1
    assert CancelSession.objects.count() == 0
