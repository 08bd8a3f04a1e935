"""Copy each session's plan onto its answer, and index the customers' words by it
(newest first, only answers with words in them), so the words of one plan are
read without looking up every answer's session.

Safe on a large table (see ``config/migration_ops/``): adding the column with
its constant default rewrites nothing (PostgreSQL 11+), the plans are copied in
batches of answers, each its own short transaction, and the index is built
concurrently on PostgreSQL. Hence ``atomic = False``."""

from django.db import migrations, models

from config.migration_ops import AddFieldIfMissing, AddIndexConcurrently, batched, run_in_batches


@batched
def copy_session_plan(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        statement = (
            "UPDATE surveys_response r SET plan = s.plan "
            "FROM surveys_cancelsession s WHERE s.id = r.session_id AND s.plan <> '' "
            "AND r.plan = '' AND r.id >= %s AND r.id < %s"
        )
    else:
        statement = (
            "UPDATE surveys_response SET plan = COALESCE((SELECT s.plan "
            "FROM surveys_cancelsession s WHERE s.id = surveys_response.session_id), '') "
            "WHERE plan = '' AND id >= %s AND id < %s"
        )
    run_in_batches(
        schema_editor,
        table="surveys_response",
        statement=statement,
        label="answers given their session's plan",
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("surveys", "0006_response_words_search"),
    ]

    operations = [
        AddFieldIfMissing(
            model_name="response",
            name="plan",
            field=models.CharField(blank=True, default="", max_length=100),
            preserve_default=False,
        ),
        migrations.RunPython(copy_session_plan, migrations.RunPython.noop, elidable=True),
        AddIndexConcurrently(
            model_name="response",
            index=models.Index(
                condition=models.Q(("text", ""), _negated=True),
                fields=["workspace", "plan", "-session_created_at"],
                name="response_words_plan",
            ),
        ),
    ]
