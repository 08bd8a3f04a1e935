"""Copy each session's start onto its answer, and index the customers' words by
it (newest first, only answers with words in them)."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_session_start(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # One join rather than a lookup per answer: minutes, not hours, at 10M.
        schema_editor.execute(
            "UPDATE surveys_response r SET session_created_at = s.created_at "
            "FROM surveys_cancelsession s WHERE s.id = r.session_id "
            "AND r.session_created_at IS NULL"
        )
        return
    Response = apps.get_model("surveys", "Response")
    CancelSession = apps.get_model("surveys", "CancelSession")
    Response.objects.filter(session_created_at__isnull=True).update(
        session_created_at=Subquery(
            CancelSession.objects.filter(pk=OuterRef("session_id")).values("created_at")[:1]
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0004_session_offer_terms"),
    ]

    operations = [
        migrations.AddField(
            model_name="response",
            name="session_created_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(copy_session_start, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="response",
            name="session_created_at",
            field=models.DateTimeField(),
        ),
        migrations.AddIndex(
            model_name="response",
            index=models.Index(
                condition=models.Q(("text", ""), _negated=True),
                fields=["workspace", "-session_created_at"],
                name="response_words",
            ),
        ),
        migrations.AddIndex(
            model_name="response",
            index=models.Index(
                condition=models.Q(("text", ""), _negated=True),
                fields=["workspace", "category", "-session_created_at"],
                name="response_words_category",
            ),
        ),
        migrations.AddIndex(
            model_name="response",
            index=models.Index(
                condition=models.Q(("text", ""), _negated=True),
                fields=["workspace", "reason_code", "-session_created_at"],
                name="response_words_reason",
            ),
        ),
    ]
