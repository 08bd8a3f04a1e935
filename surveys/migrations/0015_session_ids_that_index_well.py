"""A session's writes touch fewer index pages (``config.ids``).

- New sessions get time-ordered ids (UUID version 7): the sessions being
  written, recent ones, share the last pages of the primary key's index (and of
  every index on a session id: the answer's, the outbox row's). A Python
  default: nothing changes in the table; existing ids stay as they are.
- The token, looked up by equality only, keeps its unique constraint and loses
  the ``LIKE`` index Django made with it on PostgreSQL, dropped concurrently
  (hence ``atomic = False``). Each token write wrote both, each on a random page.
  New tokens start with their time (``new_session_token``), so the one index
  left is written near its end too; existing tokens stay valid.

Measured (a thousand offers accepted after a checkpoint, pg_walinspect): these
two and the outbox's (outbound 0002) were most of the 28 kB of WAL an outcome
wrote, almost all of it whole pages written for the first change after a
checkpoint."""

from django.db import migrations, models

import config.ids
import surveys.models
from config.migration_ops import UniqueWithoutPatternIndex


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("surveys", "0014_session_save_cancelled_at"),
    ]

    operations = [
        migrations.AlterField(
            model_name="cancelsession",
            name="id",
            field=models.UUIDField(
                default=config.ids.uuid7, editable=False, primary_key=True, serialize=False
            ),
        ),
        UniqueWithoutPatternIndex(
            model_name="cancelsession",
            name="token",
            field=models.CharField(default=surveys.models.new_session_token, max_length=64),
            constraint_name="surveys_cancelsession_token_key",
        ),
    ]
