"""The outbox's event ids index well (``config.ids``): new ids are ``msg_`` and a
time-ordered UUID (a Python default; existing ids stay), and the unique
``event_id``, looked up by equality only, loses the ``LIKE`` index Django made
with it on PostgreSQL, dropped concurrently (hence ``atomic = False``). See
surveys 0015."""

from django.db import migrations, models

import outbound.models
from config.migration_ops import UniqueWithoutPatternIndex


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("outbound", "0001_initial"),
    ]

    operations = [
        UniqueWithoutPatternIndex(
            model_name="outboxevent",
            name="event_id",
            field=models.CharField(default=outbound.models.new_event_id, max_length=40),
            constraint_name="alerts_outboxevent_event_id_key",
        ),
    ]
