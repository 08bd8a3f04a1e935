"""The project's migrations keep large tables writable on PostgreSQL: the check of
``config.migration_safety`` passes every migration, and refuses the kinds of
migration that lock a large table (as surveys 0005 was before it was rewritten)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import migrations, models

from config import migration_ops
from config.migration_safety import (
    LARGE_MODELS,
    large_tables,
    migration_problems,
    project_migrations,
)

PROJECT = list(project_migrations())
LATEST = {m.app_label: (m, s) for m, s in PROJECT}


def test_the_large_tables_are_the_projects() -> None:
    from django.apps import apps

    tables = large_tables()
    for label in LARGE_MODELS:
        model = apps.get_model(label)
        assert tables[model._meta.db_table] == label
    # Moved with their tables (outbound 0001): checked by table, whichever app
    # their migrations were in.
    assert tables["alerts_delivery"] == "outbound.delivery"


def test_a_moved_models_table_is_checked_under_its_old_label() -> None:
    """alerts 0001..0004 name ``alerts.delivery``; the table is outbound's now and
    still large: a plain index on it in an alerts migration is refused."""
    before = next(
        state
        for migration, state in PROJECT
        if (migration.app_label, migration.name) == ("alerts", "0004_delivery_keys_and_routes")
    )
    index = models.Index(fields=["kind"], name="delivery_fake_kind")
    operation = migrations.AddIndex("delivery", index)
    found = [p.message for p in migration_problems(fake(operation, app="alerts"), before)]
    assert any("outbound.delivery" in message for message in found), found


@pytest.mark.parametrize(
    ("migration", "state"), PROJECT, ids=[f"{m.app_label}.{m.name}" for m, _ in PROJECT]
)
def test_every_migration_keeps_large_tables_writable(migration: Any, state: Any) -> None:
    assert [str(p) for p in migration_problems(migration, state)] == []


def surveys_state() -> Any:
    """The project state after every migration (answers with all their columns)."""
    migration, state = LATEST["surveys"]
    state = state.clone()
    for operation in migration.operations:
        operation.state_forwards("surveys", state)
    return state


def fake(*operations: Any, atomic: bool = True, app: str = "surveys") -> Any:
    migration = migrations.Migration("0099_fake", app)
    migration.operations = list(operations)
    migration.atomic = atomic
    return migration


def problems(migration: Any, state: Any = None) -> list[str]:
    return [p.message for p in migration_problems(migration, state or surveys_state())]


WORDS_INDEX = models.Index(fields=["workspace", "text"], name="response_fake_words")


def copy_start_in_one_go(apps: Any, schema_editor: Any) -> None:
    Response = apps.get_model("surveys", "Response")
    Response.objects.update(text="")


@migration_ops.batched
def copy_start_in_batches(apps: Any, schema_editor: Any) -> None:
    migration_ops.run_in_batches(
        schema_editor,
        table="surveys_response",
        statement="UPDATE surveys_response SET text = '' WHERE id >= %s AND id < %s",
        label="fake",
    )


def categories_only(apps: Any, schema_editor: Any) -> None:
    apps.get_model("surveys", "Category").objects.update(position=0)


def test_surveys_0005_as_it_was_is_refused() -> None:
    """The old migration: a full-table UPDATE, SET NOT NULL and plain index builds
    in one transaction."""
    old_0005 = fake(
        migrations.AddField("response", "started", models.DateTimeField(null=True)),
        migrations.RunSQL(
            "UPDATE surveys_response r SET started = s.created_at "
            "FROM surveys_cancelsession s WHERE s.id = r.session_id"
        ),
        migrations.AlterField("response", "started", models.DateTimeField()),
        migrations.AddIndex("response", WORDS_INDEX),
    )
    found = problems(old_0005)
    assert len(found) == 3
    assert "rows of the large table surveys.response changed in one statement" in found[0]
    assert "NOT NULL on the large table surveys.response" in found[1]
    assert "an index on the large table surveys.response" in found[2]


def test_the_same_done_safely_passes() -> None:
    new_0005 = fake(
        migrations.AddField("response", "started", models.DateTimeField(null=True)),
        migrations.RunPython(copy_start_in_batches, migrations.RunPython.noop),
        migration_ops.SetNotNullAfterCheck("response", "started", models.DateTimeField()),
        migration_ops.AddIndexConcurrently("response", WORDS_INDEX),
        atomic=False,
    )
    assert problems(new_0005) == []


def test_concurrent_operations_in_an_atomic_migration_are_refused() -> None:
    found = problems(
        fake(
            migrations.AddField("response", "started", models.DateTimeField(null=True)),
            migration_ops.SetNotNullAfterCheck("response", "started", models.DateTimeField()),
            migration_ops.AddIndexConcurrently("response", WORDS_INDEX),
            migrations.RunPython(copy_start_in_batches),
        )
    )
    assert len(found) == 3
    assert all("atomic" in message for message in found)


def test_a_data_migration_on_a_large_table_must_be_batched() -> None:
    found = problems(fake(migrations.RunPython(copy_start_in_one_go), atomic=False))
    assert len(found) == 1
    assert "copy_start_in_one_go works on the large table(s) surveys.response" in found[0]


def test_a_data_migration_on_small_tables_passes() -> None:
    assert problems(fake(migrations.RunPython(categories_only))) == []


def test_an_index_built_in_sql_must_be_concurrent() -> None:
    plain = "CREATE INDEX IF NOT EXISTS fake ON surveys_cancelsession (customer_email)"
    concurrent = plain.replace("INDEX", "INDEX CONCURRENTLY")
    assert len(problems(fake(migrations.RunSQL(plain), atomic=False))) == 1
    assert len(problems(fake(migrations.RunSQL(concurrent)))) == 1  # atomic
    assert problems(fake(migrations.RunSQL(concurrent), atomic=False)) == []
    # A small table may be indexed as it is.
    assert problems(fake(migrations.RunSQL(plain.replace("cancelsession", "survey")))) == []


def test_a_foreign_key_or_constraint_on_a_large_table_must_be_concurrent() -> None:
    field = models.ForeignKey("surveys.survey", models.PROTECT, null=True, related_name="+")
    unique = models.UniqueConstraint(fields=["workspace", "customer_id"], name="fake_unique")
    found = problems(
        fake(
            migrations.AddField("cancelsession", "other_survey", field),
            migrations.AddConstraint("cancelsession", unique),
        )
    )
    assert len(found) == 2
    safe = fake(
        migration_ops.AddForeignKeyConcurrently("cancelsession", "other_survey", field),
        migration_ops.AddUniqueConstraintConcurrently("cancelsession", unique),
        atomic=False,
    )
    assert problems(safe) == []


def test_a_table_made_in_the_same_migration_may_be_indexed_plainly() -> None:
    """New tables are empty: surveys 0001 and alerts 0001 index theirs as usual."""
    large = LARGE_MODELS | {"surveys.fake"}
    make = migrations.CreateModel("Fake", [("id", models.BigAutoField(primary_key=True))])
    index = migrations.AddIndex("fake", models.Index(fields=["id"], name="fake_id"))
    assert migration_problems(fake(make, index), surveys_state(), large) == []
    made = surveys_state()
    make.state_forwards("surveys", made)
    assert len(migration_problems(fake(index), made, large)) == 1
