"""Index the customers' words for searches shorter than three characters (most
Chinese words), which have no trigram of their own: the text with each character
written three times, by its trigrams (see ``surveys/search.py``). On PostgreSQL
with pg_trgm only, and built concurrently, as migration 0006; elsewhere searching
works without it."""

import importlib

from django.db import migrations

words_search = importlib.import_module("surveys.migrations.0006_response_words_search")

INDEX = "response_words_short"
CREATE = (
    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON surveys_response "
    r"USING gin (UPPER(REGEXP_REPLACE(text, '(.)', '\1\1\1', 'g')) gin_trgm_ops) "
    "WHERE text <> ''"
)


def create_index(apps, schema_editor):
    words_search.add_trigram_index(schema_editor, INDEX, CREATE)


def drop_index(apps, schema_editor):
    words_search.drop_trigram_index(schema_editor, INDEX)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("surveys", "0007_response_plan"),
    ]

    operations = [migrations.RunPython(create_index, drop_index)]
