"""Before the outbound records move to their own app (``outbound`` 0001): each
delivery names its receiver in words (``key``: ``channel:12``, ``endpoint:3``),
one per event and key, and alerts keeps its link to the deliveries it writes in
a table of its own (``DeliveryRoute``: the alert and channel, or the endpoint).
The delivery's columns that pointed into alerts (alert, channel, endpoint) and
their two unique constraints go; the outbox event's foreign key to its session
is dropped (the column stays, as the event's subject).

Safe on large tables (see ``config/migration_ops/``): the key column is added
with a constant default (nothing rewritten on PostgreSQL 11+), keys and routes
are filled by id ranges, each its own short transaction, the unique index is
built concurrently, and dropping columns and constraints only changes the
catalog. Hence ``atomic = False``; every step can be run again.

Undone, the links go back on the delivery from the routes (and the digest's
channel from its key). Deploy: run it with the workers stopped (a worker of the code before would
write the dropped columns)."""

import django.db.models.deletion
from django.db import migrations, models

import alerts.models
from config.migration_ops import (
    AddFieldIfMissing,
    AddUniqueConstraintConcurrently,
    CreateModelIfMissing,
    RemoveConstraintIfPresent,
    RemoveFieldIfPresent,
    batched,
    run_in_batches,
)


@batched
def fill_delivery_keys(apps, schema_editor):
    run_in_batches(
        schema_editor,
        table="alerts_delivery",
        statement=(
            'UPDATE alerts_delivery SET "key" = CASE '
            "WHEN channel_id IS NOT NULL THEN 'channel:' || channel_id "
            "ELSE 'endpoint:' || endpoint_id END "
            "WHERE (channel_id IS NOT NULL OR endpoint_id IS NOT NULL) "
            "AND \"key\" = '' AND id >= %s AND id < %s"
        ),
        label="deliveries given their key",
    )


@batched
def fill_delivery_routes(apps, schema_editor):
    run_in_batches(
        schema_editor,
        table="alerts_delivery",
        statement=(
            "INSERT INTO alerts_deliveryroute (delivery_id, alert_id, channel_id, endpoint_id) "
            "SELECT id, alert_id, channel_id, endpoint_id FROM alerts_delivery "
            "WHERE (alert_id IS NOT NULL OR endpoint_id IS NOT NULL) "
            "AND id >= %s AND id < %s ON CONFLICT DO NOTHING"
        ),
        label="deliveries routed",
    )


@batched
def restore_delivery_columns(apps, schema_editor):
    """Undoing: the links go back on the delivery (the digest's channel from its key)."""

    def route(column):
        return (
            f"(SELECT r.{column} FROM alerts_deliveryroute r "
            "WHERE r.delivery_id = alerts_delivery.id)"
        )

    run_in_batches(
        schema_editor,
        table="alerts_delivery",
        statement=(
            f"UPDATE alerts_delivery SET alert_id = {route('alert_id')}, "
            f"endpoint_id = {route('endpoint_id')}, channel_id = COALESCE("
            f"{route('channel_id')}, CASE WHEN kind = 'digest' AND \"key\" LIKE 'channel:%%' "
            "THEN CAST(SUBSTR(\"key\", 9) AS BIGINT) END) WHERE id >= %s AND id < %s"
        ),
        label="deliveries given back their links",
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("alerts", "0003_digest_events"),
        ("surveys", "0010_personal_data_erasure"),
    ]

    operations = [
        AddFieldIfMissing(
            model_name="delivery",
            name="key",
            field=models.CharField(blank=True, default="", max_length=100),
        ),
        migrations.RunPython(fill_delivery_keys, migrations.RunPython.noop, elidable=True),
        AddUniqueConstraintConcurrently(
            model_name="delivery",
            constraint=models.UniqueConstraint(
                condition=models.Q(("key", ""), _negated=True),
                fields=("event", "key"),
                name="one_delivery_per_key",
            ),
        ),
        CreateModelIfMissing(
            name="DeliveryRoute",
            fields=[
                (
                    "delivery",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="route",
                        serialize=False,
                        to="alerts.delivery",
                    ),
                ),
                (
                    "alert",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=alerts.models.delivery_cascade,
                        related_name="routes",
                        to="alerts.alert",
                    ),
                ),
                (
                    "channel",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=alerts.models.delivery_cascade,
                        related_name="routes",
                        to="alerts.channel",
                    ),
                ),
                (
                    "endpoint",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=alerts.models.delivery_cascade,
                        related_name="routes",
                        to="alerts.webhookendpoint",
                    ),
                ),
            ],
        ),
        migrations.RunPython(fill_delivery_routes, restore_delivery_columns, elidable=True),
        RemoveConstraintIfPresent(model_name="delivery", name="one_delivery_per_channel"),
        RemoveConstraintIfPresent(model_name="delivery", name="one_delivery_per_endpoint"),
        RemoveFieldIfPresent(model_name="delivery", name="alert"),
        RemoveFieldIfPresent(model_name="delivery", name="channel"),
        RemoveFieldIfPresent(model_name="delivery", name="endpoint"),
        # The event names its session by id only (``outbound.OutboxEvent.subject_id``):
        # the constraint goes, the column and its index stay.
        migrations.AlterField(
            model_name="outboxevent",
            name="session",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="outbox_events",
                to="surveys.cancelsession",
            ),
        ),
    ]
