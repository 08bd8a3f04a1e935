"""config.orm: inserts and reads compiled once give what the ORM gives, on
SQLite and on PostgreSQL (DATABASE_URL picks PostgreSQL)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.orm import CompiledQuery, row_create, row_insert
from outbound.models import OutboxEvent
from surveys.models import OPEN_STATUSES, CancelSession
from tests.factories import make_session
from tests.queries import max_queries
from workspaces.models import ApiKey
from workspaces.selectors import api_key_for_raw
from workspaces.services import api_key_issue, api_key_revoke


def fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_row_create_inserts_the_row_create_would(workspace) -> None:
    session = make_session(workspace)
    now = timezone.now()
    with max_queries(1):
        event = row_create(
            OutboxEvent,
            workspace_id=workspace.pk,
            subject_id=session.pk,
            event_type="session.completed",
            payload={"text": "é ☃", "n": [1, None, 2.5], "ok": True},
            created_at=now,
        )
    assert event.pk is not None and event._state.adding is False
    stored = OutboxEvent.objects.get(pk=event.pk)
    assert fields(stored) == fields(event)
    assert stored.payload == {"text": "é ☃", "n": [1, None, 2.5], "ok": True}
    assert stored.event_id and stored.dispatched_at is None and stored.created_at == now
    second = row_create(
        OutboxEvent, workspace_id=workspace.pk, event_type="digest", payload={}, created_at=now
    )
    assert second.pk > event.pk and second.subject_id is None


def test_row_insert_sets_auto_fields_and_refuses_a_duplicate(workspace) -> None:
    opened = make_session(workspace)
    copy = CancelSession.objects.get(pk=opened.pk)
    copy.pk = None
    copy.id = None
    fresh = CancelSession(
        **{
            f.attname: getattr(copy, f.attname)
            for f in CancelSession._meta.concrete_fields
            if f.attname not in ("id", "token")
        }
    )
    fresh.subscription_id = "sub_other"
    row_insert(fresh)  # a UUID primary key made in Python: nothing to return
    assert CancelSession.objects.get(pk=fresh.pk).subscription_id == "sub_other"
    clash = CancelSession(
        **{f.attname: getattr(fresh, f.attname) for f in CancelSession._meta.concrete_fields}
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        row_insert(clash)  # the same primary key and token


def test_compiled_query_reads_as_the_queryset_does(workspace) -> None:
    issued = api_key_issue(workspace=workspace, name="k")
    other = api_key_issue(workspace=workspace, name="other")
    with max_queries(1):
        found = api_key_for_raw(raw_key=issued.raw_key)
        assert found is not None and found.workspace.slug == workspace.slug  # no query
    expected = ApiKey.objects.select_related("workspace").get(pk=issued.api_key.pk)
    assert fields(found) == fields(expected)
    assert fields(found.workspace) == fields(expected.workspace)
    assert api_key_for_raw(raw_key=other.raw_key).pk == other.api_key.pk  # its own values
    assert api_key_for_raw(raw_key="nope") is None
    api_key_revoke(api_key=issued.api_key)
    assert api_key_for_raw(raw_key=issued.raw_key) is None


def test_compiled_query_with_several_values_and_a_lock(workspace) -> None:
    session = make_session(workspace, subscription_id="sub_a")
    make_session(workspace, subscription_id="sub_b")
    query = CompiledQuery(
        lambda workspace_id, subscription_id: (
            CancelSession.objects.select_for_update()
            .filter(
                workspace_id=workspace_id, subscription_id=subscription_id, status__in=OPEN_STATUSES
            )
            .order_by("pk")
        ),
        workspace_id=-1,
        subscription_id="<s>",
    )
    with transaction.atomic():
        rows = query.all(workspace_id=workspace.pk, subscription_id="sub_a")
    assert [r.pk for r in rows] == [session.pk] and fields(rows[0]) == fields(session)
    assert query.first(workspace_id=workspace.pk + 1000, subscription_id="sub_a") is None


def test_compiled_query_refuses_unclear_samples() -> None:
    with pytest.raises(TypeError):
        CompiledQuery(lambda day: ApiKey.objects.filter(created_at=day), day=timezone.now())
    ambiguous = CompiledQuery(lambda name: ApiKey.objects.filter(name=name, prefix="x"), name="x")
    with pytest.raises(ValueError):
        ambiguous.all(name="y")


def test_row_insert_unless_skips_only_a_clash_with_its_constraint(workspace) -> None:
    from config.orm import row_insert_unless
    from surveys.services.opening import ONE_OPEN_SESSION

    opened = make_session(workspace, subscription_id="sub_unless")

    def copy_of(session: CancelSession, **changes) -> CancelSession:
        values = {
            f.attname: getattr(session, f.attname)
            for f in CancelSession._meta.concrete_fields
            if f.attname not in ("id", "token", "kept")
        }
        return CancelSession(**{**values, **changes})

    clash = copy_of(opened)
    with max_queries(1):
        assert row_insert_unless(clash, constraint=ONE_OPEN_SESSION) is False
    assert clash._state.adding is True
    assert CancelSession.objects.filter(subscription_id="sub_unless").count() == 1

    other = copy_of(opened, subscription_id="sub_unless_2")
    assert row_insert_unless(other, constraint=ONE_OPEN_SESSION) is True
    stored = CancelSession.objects.get(pk=other.pk)
    assert fields(stored) == fields(other) and other.kept is False  # returned by the database

    # Only an open session clashes (a partial index): an ended one does not.
    CancelSession.objects.filter(pk=opened.pk).update(status="completed")
    again = copy_of(opened)
    assert row_insert_unless(again, constraint=ONE_OPEN_SESSION) is True

    # Another constraint still raises: the same idempotency key.
    CancelSession.objects.filter(pk=again.pk).update(idempotency_key="k1")
    keyed = copy_of(opened, subscription_id="sub_unless_3", idempotency_key="k1")
    with pytest.raises(IntegrityError), transaction.atomic():
        row_insert_unless(keyed, constraint=ONE_OPEN_SESSION)


def test_row_insert_unless_names_an_unknown_constraint(workspace) -> None:
    from config.orm import row_insert_unless

    session = CancelSession(workspace=workspace, survey=workspace.surveys.get())
    with pytest.raises(ValueError, match="no unique constraint 'nope'"):
        row_insert_unless(session, constraint="nope")
    assert not CancelSession.objects.filter(pk=session.pk).exists()
