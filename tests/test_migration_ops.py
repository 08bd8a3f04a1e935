"""The operations that keep large tables writable (``config.migration_ops``) do the
job of the plain ones: upgrading a database that holds answers from before
surveys 0005 fills the new columns in batches and leaves the schema a fresh one
has; a concurrent index build that failed is built again."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from config.migration_ops import pg_create_index_concurrently, pg_index_valid, run_in_batches
from surveys.models import Response
from surveys.services import session_answer
from tests.factories import make_session, make_workspace

pytestmark = pytest.mark.django_db(transaction=True)
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's concurrent indexes and checks"
)


def answered(count: int) -> list[Any]:
    workspace = make_workspace()
    sessions = []
    for n in range(count):
        session = make_session(workspace, plan=f"Plan {n % 3}" if n % 4 else "")
        session_answer(token=session.token, reason_code="too_expensive", text=f"words {n}")
        sessions.append(session)
    return sessions


def test_upgrading_from_before_0005_fills_the_answers_columns_in_batches(capsys: Any) -> None:
    sessions = answered(7)
    expected = {s.pk: (s.created_at, s.plan) for s in sessions}
    try:
        call_command("migrate", "surveys", "0004", verbosity=0)
        with connection.cursor() as cursor:
            columns = {
                c.name
                for c in connection.introspection.get_table_description(cursor, "surveys_response")
            }
        assert not {"session_created_at", "plan"} & columns
    finally:
        call_command("migrate", verbosity=0)

    got = {
        r.session_id: (r.session_created_at, r.plan)
        for r in Response.objects.filter(session__in=sessions)
    }
    assert got == expected
    field = Response._meta.get_field("session_created_at")
    with connection.cursor() as cursor:
        description = connection.introspection.get_table_description(cursor, "surveys_response")
    assert [c.null_ok for c in description if c.name == field.column] == [False]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT conname FROM pg_constraint WHERE conrelid = 'surveys_response'::regclass "
                "AND conname LIKE '%%not_null'"
            )
            assert cursor.fetchall() == []  # the check served its turn and is gone
        for index in ("response_words", "response_words_plan", "response_words_trgm"):
            assert pg_index_valid(connection.schema_editor(), index) is True


def test_batches_cover_every_row_and_report_progress(capsys: Any, monkeypatch: Any) -> None:
    sessions = answered(9)
    Response.objects.update(plan="")
    monkeypatch.setattr("config.migration_ops.batches.BATCH_SIZE", 2)
    monkeypatch.setattr("config.migration_ops.batches.PROGRESS_EVERY_SECONDS", 0)
    with connection.schema_editor(atomic=False) as editor:
        changed = run_in_batches(
            editor,
            table="surveys_response",
            statement=(
                "UPDATE surveys_response SET plan = COALESCE((SELECT s.plan FROM "
                "surveys_cancelsession s WHERE s.id = surveys_response.session_id), '') "
                "WHERE plan = '' AND id >= %s AND id < %s"
            ),
            label="plans",
            batch_size=2,
        )
    assert changed == 9
    assert {r.session_id: r.plan for r in Response.objects.all()} == {
        s.pk: s.plan for s in sessions
    }
    out = capsys.readouterr().out
    assert "plans: 9 rows in" in out


@postgres_only
def test_an_index_a_failed_concurrent_build_left_invalid_is_built_again() -> None:
    with connection.cursor() as cursor:
        # What a concurrent build interrupted half-way leaves behind.
        cursor.execute(
            "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'response_words'::regclass"
        )
    editor = connection.schema_editor(atomic=False)
    assert pg_index_valid(editor, "response_words") is False
    call_command("migrate", "surveys", "0004", verbosity=0)
    call_command("migrate", verbosity=0)
    assert pg_index_valid(editor, "response_words") is True

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'response_words'::regclass"
        )
    built = []
    with connection.schema_editor(atomic=False) as editor:
        pg_create_index_concurrently(
            editor,
            "response_words",
            lambda: built.append(
                editor.execute(
                    "CREATE INDEX CONCURRENTLY response_words ON surveys_response "
                    "(workspace_id, session_created_at DESC) WHERE NOT (text = '')"
                )
            ),
        )
        assert built and pg_index_valid(editor, "response_words") is True
        pg_create_index_concurrently(editor, "response_words", lambda: built.append("again"))
    assert built == [None]  # a valid index is left as it is


@postgres_only
def test_a_concurrent_index_refuses_to_run_in_a_transaction() -> None:
    from django.db import NotSupportedError, transaction

    with (
        transaction.atomic(),
        connection.schema_editor(atomic=False) as editor,
        pytest.raises(NotSupportedError, match="atomic = False"),
    ):
        pg_create_index_concurrently(editor, "anything", lambda: None)


def test_a_migration_stopped_half_way_finishes_when_run_again() -> None:
    """surveys 0005 stopped after adding the column (a lost connection during the
    copy): running ``migrate`` again adds nothing twice and copies the rest."""
    sessions = answered(3)
    try:
        call_command("migrate", "surveys", "0004", verbosity=0)
        with connection.cursor() as cursor:
            kind = "timestamp with time zone" if connection.vendor == "postgresql" else "datetime"
            cursor.execute(
                f"ALTER TABLE surveys_response ADD COLUMN session_created_at {kind} NULL"
            )
    finally:
        call_command("migrate", verbosity=0)
    assert {r.session_id: r.session_created_at for r in Response.objects.all()} == {
        s.pk: s.created_at for s in sessions
    }


def test_answers_written_after_the_copy_are_filled_before_not_null(monkeypatch: Any) -> None:
    """An older version goes on writing answers without their session's start
    while surveys 0005 runs; those written after its copy are filled once the
    check is in place, before it is validated."""
    import importlib

    migration = importlib.import_module("surveys.migrations.0005_response_session_created_at")
    sessions = answered(3)
    calls = []
    real = migration.run_in_batches

    def copy_misses_the_late_answers(*args: Any, **kwargs: Any) -> int:
        calls.append(kwargs["label"])
        return 0 if len(calls) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(migration, "run_in_batches", copy_misses_the_late_answers)
    try:
        call_command("migrate", "surveys", "0004", verbosity=0)
    finally:
        call_command("migrate", verbosity=0)
    assert len(calls) == 2
    assert {r.session_id: r.session_created_at for r in Response.objects.all()} == {
        s.pk: s.created_at for s in sessions
    }


def test_an_index_is_removed_and_put_back_concurrently() -> None:
    from django.db.migrations.executor import MigrationExecutor

    from config.migration_ops import RemoveIndexConcurrently

    before = MigrationExecutor(connection).loader.project_state()
    after = before.clone()
    operation = RemoveIndexConcurrently(model_name="response", name="response_words")
    operation.state_forwards("surveys", after)

    def indexes() -> set[str]:
        with connection.cursor() as cursor:
            return set(connection.introspection.get_constraints(cursor, "surveys_response"))

    with connection.schema_editor(atomic=False) as editor:
        operation.database_forwards("surveys", editor, before, after)
    assert "response_words" not in indexes()
    with connection.schema_editor(atomic=False) as editor:
        operation.database_backwards("surveys", editor, after, before)
    assert "response_words" in indexes()
    if connection.vendor == "postgresql":
        assert pg_index_valid(connection.schema_editor(), "response_words") is True


def _pattern_indexes() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE indexdef LIKE '%%varchar_pattern_ops%%' "
            "AND tablename IN ('surveys_cancelsession', 'alerts_outboxevent')"
        )
        return {name for (name,) in cursor.fetchall()}


@postgres_only
def test_tokens_and_event_ids_stay_unique_without_their_like_indexes() -> None:
    """surveys 0015 and outbound 0002: the LIKE indexes of the token and the
    event id are dropped (and put back when undone); the columns stay unique."""
    from django.db import IntegrityError, transaction

    from outbound.models import OutboxEvent
    from surveys.models import CancelSession

    assert _pattern_indexes() == set()
    try:
        call_command("migrate", "surveys", "0014", verbosity=0)
        call_command("migrate", "outbound", "0001", verbosity=0)
        assert _pattern_indexes() == {
            "surveys_cancelsession_token_0709db62_like",
            "alerts_outboxevent_event_id_9af8bde1_like",
        }
    finally:
        call_command("migrate", verbosity=0)
    assert _pattern_indexes() == set()
    workspace = make_workspace()
    session = make_session(workspace)
    other = make_session(workspace)
    with pytest.raises(IntegrityError), transaction.atomic():
        CancelSession.objects.filter(pk=other.pk).update(token=session.token)
    event = OutboxEvent.objects.create(
        workspace=workspace, event_type="t", payload={}, created_at=session.created_at
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        OutboxEvent.objects.create(
            workspace=workspace,
            event_type="t",
            event_id=event.event_id,
            payload={},
            created_at=session.created_at,
        )
    assert CancelSession.objects.filter(token=session.token).count() == 1


@postgres_only
def test_dropping_a_like_index_again_changes_nothing() -> None:
    """A migrate that stopped after the drop runs it again: the index is gone
    already, and the second run neither fails nor touches the unique index."""
    from django.db import models
    from django.db.migrations.executor import MigrationExecutor

    from config.migration_ops import UniqueWithoutPatternIndex

    state = MigrationExecutor(connection).loader.project_state()
    operation = UniqueWithoutPatternIndex(
        model_name="cancelsession",
        name="token",
        field=models.CharField(max_length=64),
        constraint_name="surveys_cancelsession_token_key",
    )
    for _ in range(2):
        with connection.schema_editor(atomic=False) as editor:
            operation.database_forwards("surveys", editor, state, state)
    assert _pattern_indexes() == set()
    assert pg_index_valid(connection.schema_editor(), "surveys_cancelsession_token_key") is True
