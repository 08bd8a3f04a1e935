"""Index the customers' words by their trigrams (PostgreSQL's pg_trgm), so that a
search for a rare word finds its answers without reading every answer of the
period: ``text__icontains`` is ``UPPER(text) LIKE UPPER('%word%')``, which this
index answers.

Only on PostgreSQL, and only where the extension can be had: a database user that
may not create it (a managed server, say) still migrates, and searching works
as before, only slower on large workspaces (the migration says so). SQLite, the
embedded default, has no such index.

Built concurrently (answers go on being written while it builds), hence
``atomic = False``; an index left invalid by a build that failed is dropped and
built again when ``migrate`` runs again."""

from django.db import DatabaseError, migrations, transaction

from config.migration_ops import pg_create_index_concurrently

INDEX = "response_words_trgm"
CREATE = (
    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON surveys_response "
    "USING gin (UPPER(text) gin_trgm_ops) WHERE text <> ''"
)


def create_index(apps, schema_editor):
    add_trigram_index(schema_editor, INDEX, CREATE)


def add_trigram_index(schema_editor, index, create):
    """Run ``create`` (an index using gin_trgm_ops) once pg_trgm is there; where it
    cannot be had, go on without the index and print how to add both later.
    Migration 0008 adds its index the same way."""
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as problem:  # a missing contrib package, or no privilege
        print(
            f"\n  pg_trgm is not available ({str(problem).strip()}); the customers' words "
            "are searched without an index (slower on large workspaces). A database "
            f"owner can add it later:\n    CREATE EXTENSION IF NOT EXISTS pg_trgm;\n    {create};"
        )
        return
    pg_create_index_concurrently(schema_editor, index, lambda: schema_editor.execute(create))


def drop_index(apps, schema_editor):
    drop_trigram_index(schema_editor, INDEX)


def drop_trigram_index(schema_editor, index):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {index}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("surveys", "0005_response_session_created_at"),
    ]

    operations = [migrations.RunPython(create_index, drop_index)]
