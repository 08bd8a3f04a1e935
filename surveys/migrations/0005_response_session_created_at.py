"""Copy each session's start onto its answer, and index the customers' words by
it (newest first, only answers with words in them).

Safe on a large table (see ``config/migration_ops/``): the column is added
empty, filled in batches of answers (each its own short transaction, so answers
go on being written), made NOT NULL after a validated check, and indexed
concurrently on PostgreSQL. Hence ``atomic = False``."""

from django.db import migrations, models

from config.migration_ops import (
    AddFieldIfMissing,
    AddIndexConcurrently,
    SetNotNullAfterCheck,
    batched,
    run_in_batches,
)


@batched
def copy_session_start(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        statement = (
            "UPDATE surveys_response r SET session_created_at = s.created_at "
            "FROM surveys_cancelsession s WHERE s.id = r.session_id "
            "AND r.session_created_at IS NULL AND r.id >= %s AND r.id < %s"
        )
    else:
        statement = (
            "UPDATE surveys_response SET session_created_at = (SELECT s.created_at "
            "FROM surveys_cancelsession s WHERE s.id = surveys_response.session_id) "
            "WHERE session_created_at IS NULL AND id >= %s AND id < %s"
        )
    run_in_batches(
        schema_editor,
        table="surveys_response",
        statement=statement,
        label="answers given their session's start",
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("surveys", "0004_session_offer_terms"),
    ]

    operations = [
        AddFieldIfMissing(
            model_name="response",
            name="session_created_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(copy_session_start, migrations.RunPython.noop, elidable=True),
        SetNotNullAfterCheck(
            model_name="response",
            name="session_created_at",
            field=models.DateTimeField(),
            # Answers an older version wrote after the copy.
            fill=copy_session_start,
        ),
        AddIndexConcurrently(
            model_name="response",
            index=models.Index(
                condition=models.Q(("text", ""), _negated=True),
                fields=["workspace", "-session_created_at"],
                name="response_words",
            ),
        ),
        AddIndexConcurrently(
            model_name="response",
            index=models.Index(
                condition=models.Q(("text", ""), _negated=True),
                fields=["workspace", "category", "-session_created_at"],
                name="response_words_category",
            ),
        ),
        AddIndexConcurrently(
            model_name="response",
            index=models.Index(
                condition=models.Q(("text", ""), _negated=True),
                fields=["workspace", "reason_code", "-session_created_at"],
                name="response_words_reason",
            ),
        ),
    ]
