"""The domain-event bus: handlers run in their stated order, in the publisher's
transaction, and a failing one rolls the change back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from config import events
from config.events import DomainEvent, publish, subscribe, subscribers, unsubscribe
from surveys.models import CancelSession, Outcome, SessionStatus
from surveys.services import (
    SESSION_ABANDONED,
    SESSION_ANSWERED,
    SESSION_COMPLETED,
    SESSION_EVENTS,
    SESSION_OPENED,
    session_accept,
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
    """offers decides (the offer shown, the terms accepted), alerts records the
    outbox row, offers queues confirmation and billing on it, surveys writes the
    session, and analytics counts last (its rows are the shared ones)."""
    after = [
        "alerts.subscribers.outbox_record",
        "offers.subscribers.confirmation_queue",
        "offers.subscribers.billing_queue",
        "surveys.subscribers.session_write",
        "analytics.subscribers.rollups_update",
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
@pytest.mark.parametrize("order", [35, 95], ids=["after the outbox row", "after every write"])
def test_a_failing_subscriber_rolls_the_transition_back(order: int) -> None:
    from analytics.models import SessionRollup
    from outbound.models import OutboxEvent

    workspace = make_workspace()
    session = make_session(workspace)
    rollups = list(SessionRollup.objects.values_list("sessions", flat=True).order_by("pk"))
    subscribe(SESSION_COMPLETED, failing, order=order)
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


def test_the_rollups_are_the_last_write_before_the_commit(db: None) -> None:
    """The session's UPDATE (surveys, 80) comes before the rollups' upsert
    (analytics, 90), so the rollup rows that concurrent outcomes share are locked
    only for their upsert and the commit; every transition writes its session
    once."""
    workspace = make_workspace()
    offer = make_offer(workspace)
    session = make_session(workspace)
    transitions = {
        "answer": lambda: session_answer(token=session.token, reason_code="too_expensive"),
        "accept": lambda: session_accept(token=session.token, offer_id=offer.pk),
    }
    for name, transition in transitions.items():
        with CaptureQueriesContext(connection) as seen:
            transition()
        writes = [
            q["sql"].split("(")[0].split(" SET ")[0]
            for q in seen.captured_queries
            if q["sql"].startswith(("INSERT", "UPDATE"))
        ]
        assert writes[-1].startswith("INSERT INTO analytics_sessionrollup"), (name, writes)
        updates = [w for w in writes if w.startswith('UPDATE "surveys_cancelsession"')]
        assert len(updates) == 1, (name, writes)
        assert writes.index(updates[0]) == len(writes) - 2, (name, writes)


def late_metadata(event: DomainEvent) -> None:
    event.session.metadata = {**(event.session.metadata or {}), "late": True}
    event.session_fields.append("metadata")


@pytest.mark.django_db(transaction=True)
def test_a_field_named_after_the_sessions_write_is_written_too() -> None:
    """A subscriber after surveys' write (order 80) that changes the session still
    gets its field stored: by one more UPDATE after the last subscriber."""
    workspace = make_workspace()
    session = make_session(workspace)
    subscribe(SESSION_COMPLETED, late_metadata, order=85)
    try:
        with CaptureQueriesContext(connection) as seen:
            session_cancel(token=session.token)
    finally:
        unsubscribe(SESSION_COMPLETED, late_metadata)
    session.refresh_from_db()
    assert (session.outcome, session.metadata.get("late")) == (Outcome.CANCELLED, True)
    updates = [q for q in seen.captured_queries if q["sql"].startswith('UPDATE "surveys_')]
    assert len(updates) == 2
