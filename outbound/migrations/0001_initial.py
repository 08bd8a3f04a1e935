"""The outbound records move here from alerts: ``OutboxEvent``, ``Delivery`` and
``DeliveryAttempt`` keep their tables (``db_table``), so no row is copied and
nothing in the database changes. alerts 0004 shaped them first (delivery keys,
alerts' own routes, the session's foreign key dropped); alerts 0005 and
analytics 0007 then point their foreign keys here and alerts forgets them.

The models' content types (and so their permissions and admin log entries) are
renamed to this app, so nothing is left behind under the old label."""

import django.db.models.deletion
from django.db import migrations, models

import outbound.models

MOVED = ("outboxevent", "delivery", "deliveryattempt")


def content_types_move(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="alerts", model__in=MOVED).update(app_label="outbound")


def content_types_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="outbound", model__in=MOVED).update(app_label="alerts")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("alerts", "0004_delivery_keys_and_routes"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("workspaces", "0007_staff_follows_roles"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="OutboxEvent",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "subject_id",
                            models.UUIDField(
                                blank=True, db_column="session_id", db_index=True, null=True
                            ),
                        ),
                        ("event_type", models.CharField(max_length=40)),
                        (
                            "event_id",
                            models.CharField(
                                default=outbound.models.new_event_id, max_length=40, unique=True
                            ),
                        ),
                        ("payload", models.JSONField()),
                        ("follows_outcome", models.BooleanField(default=False)),
                        ("created_at", models.DateTimeField()),
                        ("dispatched_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "workspace",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="workspaces.workspace",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "alerts_outboxevent",
                        "ordering": ["-created_at"],
                        "indexes": [
                            models.Index(
                                condition=models.Q(("dispatched_at__isnull", True)),
                                fields=["created_at"],
                                name="outbox_undispatched",
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="Delivery",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("kind", models.CharField(max_length=20)),
                        ("key", models.CharField(blank=True, default="", max_length=100)),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("pending", "Pending"),
                                    ("in_flight", "In flight"),
                                    ("retry", "Awaiting retry"),
                                    ("sent", "Sent"),
                                    ("dead", "Dead"),
                                ],
                                default="pending",
                                max_length=10,
                            ),
                        ),
                        ("attempts", models.PositiveSmallIntegerField(default=0)),
                        ("next_attempt_at", models.DateTimeField()),
                        ("last_error", models.CharField(blank=True, max_length=500)),
                        ("created_at", models.DateTimeField()),
                        ("updated_at", models.DateTimeField()),
                        ("sent_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "event",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="deliveries",
                                to="outbound.outboxevent",
                            ),
                        ),
                        (
                            "workspace",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="deliveries",
                                to="workspaces.workspace",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "alerts_delivery",
                        "verbose_name_plural": "deliveries",
                        "ordering": ["-created_at", "-id"],
                        "constraints": [
                            models.UniqueConstraint(
                                condition=models.Q(("key", ""), _negated=True),
                                fields=("event", "key"),
                                name="one_delivery_per_key",
                            )
                        ],
                        "indexes": [
                            models.Index(
                                fields=["status", "next_attempt_at"], name="delivery_due"
                            ),
                            models.Index(
                                fields=["workspace", "status"], name="delivery_ws_status"
                            ),
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="DeliveryAttempt",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("number", models.PositiveSmallIntegerField()),
                        ("started_at", models.DateTimeField()),
                        ("duration_ms", models.PositiveIntegerField()),
                        ("ok", models.BooleanField()),
                        ("status_code", models.PositiveSmallIntegerField(blank=True, null=True)),
                        ("error", models.CharField(blank=True, max_length=500)),
                        (
                            "delivery",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="attempt_log",
                                to="outbound.delivery",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "alerts_deliveryattempt",
                        "ordering": ["delivery", "number"],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("delivery", "number"), name="attempt_number_unique"
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_move, content_types_back),
    ]
