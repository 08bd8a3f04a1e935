"""The flow's hand-written read gives what the ORM gives, on SQLite and on
PostgreSQL (the suite runs on both: DATABASE_URL picks PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from surveys.models import CancelSession, Outcome, SessionStatus
from surveys.repository import session_row
from surveys.services import session_accept, session_answer
from tests.factories import make_offer, make_session
from tests.queries import max_queries


def values(instance: Model | None) -> dict | None:
    if instance is None:
        return None
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def orm(token: str) -> CancelSession:
    return CancelSession.objects.select_related("workspace", "survey", "offer", "response").get(
        token=token
    )


def test_a_fresh_session_reads_as_the_orm_reads_it(workspace) -> None:
    session = make_session(workspace, metadata={"plan": "pro", "n": [1, 2]})
    session_row(token=make_session(workspace).token)  # its configuration now cached
    with max_queries(1):
        found = session_row(token=session.token)
        assert found is not None
        # Everything it was read with: no further query.
        assert found.workspace.slug == workspace.slug
        assert found.survey.question
        assert found.offer is None
        assert getattr(found, "response", None) is None
    expected = orm(session.token)
    assert values(found) == values(expected)
    assert values(found.workspace) == values(expected.workspace)
    assert values(found.survey) == values(expected.survey)
    assert found.metadata == {"plan": "pro", "n": [1, 2]}
    assert found._state.adding is False and found._state.db == "default"


def test_an_answered_session_has_its_offer_and_answer(workspace) -> None:
    offer = make_offer(workspace)
    session = make_session(workspace)
    session_answer(token=session.token, reason_code="too_expensive", text="pricey")
    found = session_row(token=session.token)
    expected = orm(session.token)
    assert found is not None and found.status == SessionStatus.OFFERED
    assert values(found.offer) == values(expected.offer)
    assert found.offer is not None and found.offer.pk == offer.pk
    assert values(found.response) == values(expected.response)
    assert found.response.session is found


def test_an_unknown_token_is_none(db) -> None:
    assert session_row(token="nope") is None
    assert session_row(token="nope", locked=True, with_history=True) is None


def test_history_gives_the_customers_past_acceptances(workspace) -> None:
    offer = make_offer(workspace)
    earlier = make_session(workspace, customer_id="cus_h", subscription_id="sub_1")
    session_answer(token=earlier.token, reason_code="too_expensive")
    accepted_at = timezone.now() - timedelta(days=3)
    session_accept(token=earlier.token, offer_id=offer.pk, now=accepted_at)
    later = make_session(workspace, customer_id="cus_h", subscription_id="sub_2")
    stranger = make_session(workspace, customer_id="cus_other", subscription_id="sub_3")

    found = session_row(token=later.token, with_history=True)
    assert found is not None
    assert found.history_last_saved_at == accepted_at  # type: ignore[attr-defined]
    assert found.history_offer_ids == str(offer.pk)  # type: ignore[attr-defined]
    none = session_row(token=stranger.token, with_history=True)
    assert none is not None
    assert none.history_last_saved_at is None  # type: ignore[attr-defined]
    assert none.history_offer_ids is None  # type: ignore[attr-defined]
    assert CancelSession.objects.get(pk=earlier.pk).outcome == Outcome.SAVED


def test_the_locked_read_locks_only_the_session_row(workspace) -> None:
    session = make_session(workspace)
    with transaction.atomic(), CaptureQueriesContext(connection) as seen:
        assert session_row(token=session.token, locked=True) is not None
    sql = next(q["sql"] for q in seen.captured_queries if "SELECT" in q["sql"])
    if connection.features.has_select_for_update_of:
        assert sql.endswith("FOR UPDATE OF s")
    else:
        assert "FOR UPDATE" not in sql


def test_session_update_writes_what_save_writes(workspace) -> None:
    from surveys.repository import session_update

    offer = make_offer(workspace)
    session = make_session(workspace, locale="en")
    now = timezone.now()
    session.status = SessionStatus.COMPLETED
    session.outcome = Outcome.SAVED
    session.completed_at = now
    session.offer = offer
    session.accepted_terms = {"kind": "pause", "months": 2, "nested": {"a": [1, None]}}
    session.locale = "zh-hans"  # changed, but not among the fields written
    with max_queries(1):
        session_update(session, ["status", "outcome", "completed_at", "offer", "accepted_terms"])
    stored = CancelSession.objects.get(pk=session.pk)
    assert stored.status == SessionStatus.COMPLETED and stored.outcome == Outcome.SAVED
    assert stored.completed_at == now and stored.offer_id == offer.pk
    assert stored.accepted_terms == {"kind": "pause", "months": 2, "nested": {"a": [1, None]}}
    assert stored.locale == "en"  # changed on the instance only: not written
    # Names repeated (subscribers may add one twice) are written once; NULL too.
    session.completed_at = None
    session_update(session, ["completed_at", "completed_at"])
    assert CancelSession.objects.get(pk=session.pk).completed_at is None


def test_configuration_is_cached_by_row_version_and_never_served_stale(workspace) -> None:
    """On PostgreSQL the workspace, survey and offer come from a cache keyed by
    their row version: a cold read costs a second statement, a warm one none, and
    any change of the row (even one no service announces) is read afresh. On
    SQLite every read reads everything, in one statement."""
    from offers.models import Offer
    from surveys.repository import CONFIGURATION
    from workspaces.models import Workspace

    versioned = connection.vendor == "postgresql"
    offer = make_offer(workspace)
    session = make_session(workspace)
    session_answer(token=session.token, reason_code="too_expensive")
    CONFIGURATION.clear()
    with CaptureQueriesContext(connection) as cold:
        first = session_row(token=session.token)
    assert len(cold.captured_queries) == (2 if versioned else 1)
    with max_queries(1):
        second = session_row(token=session.token)
    assert first is not None and second is not None
    assert values(second.offer) == values(orm(session.token).offer)
    # Each caller has its own instances: what one sets stays with it.
    assert second.workspace is not first.workspace and second.offer is not first.offer
    second.workspace.name = "changed on one request only"
    assert session_row(token=session.token).workspace.name == workspace.name  # type: ignore[union-attr]
    # A row changed behind the services' backs (no configuration version bump):
    Offer.objects.filter(pk=offer.pk).update(name="Renamed offer")
    Workspace.objects.filter(pk=workspace.pk).update(name="Renamed workspace")
    with transaction.atomic():
        third = session_row(token=session.token, locked=True, with_history=True)
    assert third is not None
    assert third.offer.name == "Renamed offer"  # type: ignore[union-attr]
    assert third.workspace.name == "Renamed workspace"
    assert values(third.survey) == values(orm(session.token).survey)
