"""The outbound records are ``outbound``'s now (outbound 0001): alerts' foreign
keys point there (the same tables) and alerts forgets the models. Only Django's
state changes."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0004_delivery_keys_and_routes"),
        ("analytics", "0007_digest_event_outbound"),
        ("outbound", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="alert",
                    name="event",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="alerts",
                        to="outbound.outboxevent",
                    ),
                ),
                migrations.AlterField(
                    model_name="deliveryroute",
                    name="delivery",
                    field=models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="route",
                        serialize=False,
                        to="outbound.delivery",
                    ),
                ),
                migrations.DeleteModel(name="DeliveryAttempt"),
                migrations.DeleteModel(name="Delivery"),
                migrations.DeleteModel(name="OutboxEvent"),
            ],
            database_operations=[],
        ),
    ]
