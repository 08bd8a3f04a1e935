"""The digest's event is an ``outbound.OutboxEvent`` now (outbound 0001 moved the
model, table and all): only Django's state changes."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0006_digest_deliveries"),
        ("outbound", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="digestrun",
                    name="event",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="outbound.outboxevent",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
