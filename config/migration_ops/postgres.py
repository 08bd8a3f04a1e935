"""The PostgreSQL side of the migration operations: whether an index is there
and valid, building one concurrently (again, after a failed build), and the
guard that a concurrent statement runs outside a transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import NotSupportedError
from django.db.backends.base.schema import BaseDatabaseSchemaEditor


def pg_editor(schema_editor: BaseDatabaseSchemaEditor) -> Any:
    """The PostgreSQL schema editor, with the arguments and helpers the base
    class's stubs do not list (``concurrently``, ``_create_index_sql``…)."""
    return schema_editor


def is_postgres(schema_editor: BaseDatabaseSchemaEditor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


def outside_transaction(schema_editor: BaseDatabaseSchemaEditor, what: str) -> None:
    if schema_editor.connection.in_atomic_block:
        raise NotSupportedError(
            f"{what} cannot run inside a transaction: give its migration `atomic = False` "
            "and do not wrap `migrate` in a transaction."
        )


def fetch(schema_editor: BaseDatabaseSchemaEditor, sql: str, params: Sequence[Any]) -> list:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def pg_index_valid(schema_editor: BaseDatabaseSchemaEditor, name: str) -> bool | None:
    """True/False for an index of that name (valid or left invalid by a failed
    concurrent build), None if there is none."""
    rows = fetch(
        schema_editor,
        "SELECT i.indisvalid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid "
        "WHERE c.relname = %s AND pg_table_is_visible(c.oid)",
        [name],
    )
    return rows[0][0] if rows else None


def pg_create_index_concurrently(
    schema_editor: BaseDatabaseSchemaEditor, name: str, create: Callable[[], None]
) -> None:
    """Run ``create`` (a ``CREATE INDEX CONCURRENTLY name …``) unless a valid index
    of that name is there; an invalid one (a build that failed) is dropped first."""
    outside_transaction(schema_editor, f"CREATE INDEX CONCURRENTLY {name}")
    valid = pg_index_valid(schema_editor, name)
    if valid:
        return
    if valid is False:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(name)}")
    create()
