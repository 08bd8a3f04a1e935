"""The word-search index migration where the database will not give pg_trgm (a
managed server without the contrib package, or a user without the privilege): it
goes on without the index, says so, and prints the statements to add it later."""

from __future__ import annotations

import importlib
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import DatabaseError, connection

# The two indexes of the customers' words: by trigram, and of short words.
INDEX_MIGRATIONS = [
    importlib.import_module("surveys.migrations.0006_response_words_search"),
    importlib.import_module("surveys.migrations.0008_response_words_short"),
]
each_index = pytest.mark.parametrize(
    "search_index", INDEX_MIGRATIONS, ids=[m.INDEX for m in INDEX_MIGRATIONS]
)


class NoIndexYet:
    """A cursor on a database without the index (the migration looks first for one
    a failed concurrent build left invalid)."""

    def __enter__(self) -> NoIndexYet:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def execute(self, sql: str, params: Any = None) -> None:
        pass

    def fetchall(self) -> list[Any]:
        return []


class Editor:
    """A schema editor on a PostgreSQL connection whose statements are recorded;
    ``refuse`` makes a statement starting so fail as the server would."""

    def __init__(self, refuse: str = "") -> None:
        self.connection = SimpleNamespace(
            vendor="postgresql", alias=connection.alias, in_atomic_block=False, cursor=NoIndexYet
        )
        self.refuse = refuse
        self.executed: list[str] = []

    def execute(self, sql: str, params: Any = None) -> None:
        if self.refuse and sql.startswith(self.refuse):
            raise DatabaseError('permission denied to create extension "pg_trgm"')
        self.executed.append(sql)


@each_index
@pytest.mark.django_db
def test_without_pg_trgm_the_migration_goes_on_and_says_how_to_add_it(
    search_index: Any, capsys: Any
) -> None:
    editor = Editor(refuse="CREATE EXTENSION")
    search_index.create_index(None, editor)
    assert editor.executed == []  # no index that could not work
    out = capsys.readouterr().out
    assert "permission denied" in out
    assert "CREATE EXTENSION IF NOT EXISTS pg_trgm;" in out
    assert search_index.CREATE in out


@each_index
@pytest.mark.django_db
def test_with_pg_trgm_the_index_is_created(search_index: Any) -> None:
    editor = Editor()
    search_index.create_index(None, editor)
    assert editor.executed == ["CREATE EXTENSION IF NOT EXISTS pg_trgm", search_index.CREATE]


@each_index
def test_other_databases_get_no_index(search_index: Any) -> None:
    editor = Editor()
    editor.connection.vendor = "sqlite"
    search_index.create_index(None, editor)
    assert editor.executed == []
