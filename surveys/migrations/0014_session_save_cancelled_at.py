"""Each saved session keeps its first cancellation at or after the save
(``save_cancelled_at``), so the saves figure reads one index, index-only, rather
than matching every save against the cancellations (``offers.saves``).

Safe on a large table (see ``config/migration_ops/``): the column is nullable
without a default (added without rewriting or scanning the table); the index of
saved sessions by subscription is built concurrently first (the copy and every
later cancellation find a subscription's saves through it); the cancellations are
then copied onto their saves in batches of events, each its own short
transaction (a save keeps the earliest: running it again changes nothing); last
the index the figure reads is built concurrently and the one it replaces
dropped the same way. Hence ``atomic = False``.

Events and saves the previous version records after this ran are not copied:
run ``manage.py saves_refresh --since <when migrate started>`` once the new
version serves (README, "Upgrading a large installation")."""

from django.db import migrations, models

from config.migration_ops import (
    AddFieldIfMissing,
    AddIndexConcurrently,
    RemoveIndexConcurrently,
    batched,
    run_in_batches,
)


@batched
def copy_first_cancellations(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # The batch's cancellations, onto the saves made at or before them; the
        # earliest stays.
        statement = (
            "UPDATE surveys_cancelsession s SET save_cancelled_at = f.first "
            "FROM (SELECT s2.id, MIN(e.occurred_at) AS first "
            "FROM offers_subscriptionevent e JOIN surveys_cancelsession s2 "
            "ON s2.workspace_id = e.workspace_id AND s2.subscription_id = e.subscription_id "
            "AND s2.outcome = 'saved' AND s2.completed_at IS NOT NULL "
            "AND s2.completed_at <= e.occurred_at "
            "WHERE e.type = 'cancelled' AND e.id >= %s AND e.id < %s GROUP BY s2.id) f "
            "WHERE s.id = f.id AND (s.save_cancelled_at IS NULL OR s.save_cancelled_at > f.first)"
        )
    else:
        # The saves the batch's cancellations touch, recounted from every event.
        statement = (
            "UPDATE surveys_cancelsession SET save_cancelled_at = ("
            "SELECT MIN(e.occurred_at) FROM offers_subscriptionevent e "
            "WHERE e.workspace_id = surveys_cancelsession.workspace_id "
            "AND e.subscription_id = surveys_cancelsession.subscription_id "
            "AND e.type = 'cancelled' AND e.occurred_at >= surveys_cancelsession.completed_at) "
            "WHERE outcome = 'saved' AND completed_at IS NOT NULL AND EXISTS ("
            "SELECT 1 FROM offers_subscriptionevent b "
            "WHERE b.workspace_id = surveys_cancelsession.workspace_id "
            "AND b.subscription_id = surveys_cancelsession.subscription_id "
            "AND b.type = 'cancelled' AND b.occurred_at >= surveys_cancelsession.completed_at "
            "AND b.id >= %s AND b.id < %s)"
        )
    run_in_batches(
        schema_editor,
        table="offers_subscriptionevent",
        statement=statement,
        label="cancellations copied onto their saves",
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("surveys", "0013_session_saved_and_currency"),
        ("offers", "0004_subscriptionevent"),
    ]

    operations = [
        AddFieldIfMissing(
            model_name="cancelsession",
            name="save_cancelled_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        AddIndexConcurrently(
            model_name="cancelsession",
            index=models.Index(
                condition=models.Q(("outcome", "saved")),
                fields=["workspace", "subscription_id"],
                name="session_saved_subscription",
            ),
        ),
        migrations.RunPython(copy_first_cancellations, migrations.RunPython.noop, elidable=True),
        AddIndexConcurrently(
            model_name="cancelsession",
            index=models.Index(
                condition=models.Q(("outcome", "saved")),
                fields=["workspace", "completed_at"],
                include=("offer", "experiment_variant", "save_cancelled_at"),
                name="session_saved_lasting",
            ),
        ),
        RemoveIndexConcurrently(
            model_name="cancelsession",
            name="session_saved",
        ),
    ]
