"""A check that the project's migrations keep large tables writable on PostgreSQL
(``tests/test_migrations_safety.py`` runs it over every migration).

A migration is refused when, on a table listed in ``LARGE_MODELS`` that it did
not create itself, it

- adds or removes an index, or adds a constraint or an indexed/foreign-key field,
  other than with the concurrent operations of ``config.migration_ops`` (or
  ``django.contrib.postgres``'s) in a migration with ``atomic = False``;
- builds an index in raw SQL (``RunSQL``, or SQL a ``RunPython`` runs) without
  ``CONCURRENTLY``, or with it in an atomic migration;
- changes rows (``RunSQL``) or runs code that names the table (``RunPython``)
  other than in a function marked ``@batched`` in a non-atomic migration;
- makes a column NOT NULL other than with ``SetNotNullAfterCheck`` in a
  non-atomic migration.

``ALLOWED`` lists the exceptions, each with its reason. The check reads the code
of a ``RunPython`` (its source, the project functions it calls and the strings it
uses), so it sees what the function names, not what it does at run time: name
the models and tables plainly.
"""

from __future__ import annotations

import contextlib
import inspect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from types import CodeType, ModuleType
from typing import Any

from django.contrib.postgres import operations as postgres_operations
from django.db.migrations import Migration
from django.db.migrations import operations as ops
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.state import ProjectState

from config import migration_ops

# Tables that grow with customers' sessions: an operation that locks one of them
# for more than a moment stops the flow or the workers. A new model of that kind
# is added here.
LARGE_MODELS = frozenset(
    {
        "surveys.cancelsession",
        "surveys.response",
        "surveys.sessionidempotencykey",
        "surveys.competitormention",
        "analytics.sessionrollup",
        "outbound.outboxevent",
        "outbound.delivery",
        "outbound.deliveryattempt",
        "alerts.alert",
        "alerts.alertchange",
        "alerts.deliveryroute",
        "offers.subscriptionevent",  # one row per renewal, cancellation… of every customer
    }
)
PROJECT_APPS = ("workspaces", "outbound", "surveys", "offers", "alerts", "analytics", "privacy")
# (app, migration name): why it may do what the check refuses.
ALLOWED: dict[tuple[str, str], str] = {}

CONCURRENT_INDEX_OPS = (
    migration_ops.AddIndexConcurrently,
    migration_ops.RemoveIndexConcurrently,
    postgres_operations.AddIndexConcurrently,
    postgres_operations.RemoveIndexConcurrently,
)
CONCURRENT_CONSTRAINT_OPS = (migration_ops.AddUniqueConstraintConcurrently,)
CREATE_INDEX = re.compile(
    r"CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?P<concurrently>CONCURRENTLY\s+)?"
    r"(?:IF\s+NOT\s+EXISTS\s+)?[\w\"{}.]*\s*ON\s+(?:ONLY\s+)?(?:public\.)?\"?(?P<table>\w+)",
    re.IGNORECASE,
)
CHANGE_ROWS = re.compile(
    r"\b(?:UPDATE\s+(?:ONLY\s+)?|DELETE\s+FROM\s+|INSERT\s+INTO\s+)\"?(?P<table>\w+)",
    re.IGNORECASE,
)
GET_MODEL = re.compile(r"get_model\(\s*[\"'](\w+)[\"']\s*,\s*[\"'](\w+)[\"']\s*\)")


@dataclass(frozen=True)
class Problem:
    migration: str
    operation: str
    message: str

    def __str__(self) -> str:
        return f"{self.migration}: {self.operation}: {self.message}"


def large_tables(large: Iterable[str] = LARGE_MODELS) -> dict[str, str]:
    """Table name → model label. A table keeps its name when its model moves to
    another app (``db_table``: outbound's records are in ``alerts_*`` tables), so
    migrations are checked by table: an operation of the app the model was in
    then is checked like one of the app it is in now."""
    from django.apps import apps

    tables = {}
    for label in large:
        try:
            table = apps.get_model(label)._meta.db_table
        except LookupError:
            table = label.replace(".", "_")
        tables[table] = label
    return tables


def _table(state: ProjectState, app: str, model: str) -> str:
    found = state.models.get((app, model))
    return (found.options.get("db_table") if found else None) or f"{app}_{model}"


def project_migrations() -> Iterator[tuple[Migration, ProjectState]]:
    """Every migration of the project's apps, with the state before it."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    for key in sorted(loader.disk_migrations):
        if key[0] in PROJECT_APPS:
            yield loader.disk_migrations[key], loader.project_state(key, at_end=False)


def migration_problems(
    migration: Migration, state: ProjectState, large: Iterable[str] = LARGE_MODELS
) -> list[Problem]:
    """What in ``migration`` (applied on ``state``) would lock a large table."""
    name = f"{migration.app_label}.{migration.name}"
    if (migration.app_label, migration.name) in ALLOWED:
        return []
    tables = large_tables(large)
    state = state.clone()
    created: set[str] = set()  # tables
    problems: list[Problem] = []
    for operation in _database_operations(migration.operations):
        for message in _operation_problems(
            migration,
            operation,
            state,
            {t: m for t, m in tables.items() if t not in created},
        ):
            problems.append(Problem(name, operation.describe(), message))
        if isinstance(operation, ops.CreateModel):
            created.add(
                operation.options.get("db_table") or f"{migration.app_label}_{operation.name_lower}"
            )
        operation.state_forwards(migration.app_label, state)
    return problems


def _database_operations(operations: Iterable[Any]) -> Iterator[Any]:
    for operation in operations:
        if isinstance(operation, ops.SeparateDatabaseAndState):
            yield from _database_operations(operation.database_operations)
        else:
            yield operation


def _operation_problems(
    migration: Migration,
    operation: Any,
    state: ProjectState,
    tables: dict[str, str],
) -> Iterator[str]:
    app = migration.app_label
    atomic = migration.atomic
    model_name = getattr(operation, "model_name_lower", "")
    label = tables.get(_table(state, app, model_name), f"{app}.{model_name}")
    large = set(tables.values())
    non_atomic = "in a migration with `atomic = False`"
    if isinstance(operation, (ops.AddIndex, ops.RemoveIndex)) and label in large:
        if not isinstance(operation, CONCURRENT_INDEX_OPS):
            yield (
                f"an index on the large table {label} built or dropped under a write lock: "
                f"use AddIndexConcurrently/RemoveIndexConcurrently {non_atomic}"
            )
        elif atomic:
            yield f"a concurrent index on {label} needs its migration to have `atomic = False`"
    elif isinstance(operation, ops.AddConstraint) and label in large:
        if not isinstance(operation, CONCURRENT_CONSTRAINT_OPS):
            yield (
                f"a constraint on the large table {label} checked or indexed under a write "
                f"lock: use AddUniqueConstraintConcurrently {non_atomic}"
            )
        elif atomic:
            yield f"a concurrent constraint on {label} needs `atomic = False`"
    elif isinstance(operation, ops.AddField) and label in large:
        field: Any = operation.field
        indexed = field.db_index or field.unique or getattr(field, "db_constraint", False)
        if indexed and not isinstance(operation, migration_ops.AddForeignKeyConcurrently):
            yield (
                f"an indexed or foreign-key field on the large table {label} (index built, "
                f"constraint checked under a lock): use AddForeignKeyConcurrently {non_atomic}"
            )
        elif indexed and atomic:
            yield f"AddForeignKeyConcurrently on {label} needs `atomic = False`"
    elif isinstance(operation, ops.AlterField) and label in large:
        old = state.models[app, operation.model_name_lower].fields[operation.name_lower]
        if old.null and not operation.field.null:
            if not isinstance(operation, migration_ops.SetNotNullAfterCheck):
                yield (
                    f"NOT NULL on the large table {label} scans it under an exclusive lock: "
                    f"use SetNotNullAfterCheck {non_atomic}"
                )
            elif atomic:
                yield f"SetNotNullAfterCheck on {label} needs `atomic = False`"
    elif isinstance(operation, ops.RunSQL):
        for sql in (operation.sql, operation.reverse_sql):
            yield from _sql_problems(_sql_text(sql), tables, atomic, batched=False)
    elif isinstance(operation, ops.RunPython):
        op_atomic = atomic if operation.atomic is None else operation.atomic
        for code in (operation.code, operation.reverse_code):
            if code is None or code is ops.RunPython.noop:
                continue
            text = code_text(code)
            batched = bool(getattr(code, "batched", False))
            yield from _sql_problems(text, tables, op_atomic, batched=batched)
            rest = CREATE_INDEX.sub("", text)
            named = {tables[t] for t in tables if re.search(rf"\b{t}\b", rest)}
            named |= {
                tables[_table(state, a, m.lower())]
                for a, m in GET_MODEL.findall(rest)
                if _table(state, a, m.lower()) in tables
            }
            if named and not batched:
                yield (
                    f"{_name(code)} works on the large table(s) {', '.join(sorted(named))} "
                    "in one go: do it in batches (config.migration_ops.run_in_batches), mark "
                    "it @batched, and give its migration `atomic = False`"
                )
            elif named and op_atomic:
                yield (
                    f"{_name(code)} is batched, but its migration runs it in one "
                    "transaction: `atomic = False`"
                )


def _sql_text(sql: Any) -> str:
    if sql is None or sql == "":
        return ""
    if isinstance(sql, str):
        return sql
    return "\n".join(s if isinstance(s, str) else str(s[0]) for s in sql)


def _sql_problems(
    text: str, tables: dict[str, str], atomic: bool, *, batched: bool
) -> Iterator[str]:
    for match in CREATE_INDEX.finditer(text):
        table = tables.get(match["table"])
        if table is None:
            continue
        if not match["concurrently"]:
            yield f"CREATE INDEX on the large table {table} without CONCURRENTLY blocks its writes"
        elif atomic:
            yield f"CREATE INDEX CONCURRENTLY on {table} cannot run in an atomic migration"
    if batched:
        return
    for match in CHANGE_ROWS.finditer(text):
        table = tables.get(match["table"])
        if table is not None:
            yield (
                f"rows of the large table {table} changed in one statement: do it in batches "
                "(a @batched RunPython with run_in_batches) in a non-atomic migration"
            )


def code_text(function: Any) -> str:
    """The source of ``function``, of the project functions it calls (also through
    a module, as ``grains.add_up``) and the strings it uses by name."""
    seen: set[int] = set()
    parts: list[str] = []
    _collect(function, seen, parts)
    return "\n".join(parts)


def _collect(function: Any, seen: set[int], parts: list[str]) -> None:
    if id(function) in seen or not inspect.isfunction(function):
        return
    seen.add(id(function))
    with contextlib.suppress(OSError, TypeError):
        parts.append(inspect.getsource(function))
    names = set(_names(function.__code__))
    for name in names:
        value = function.__globals__.get(name)
        _collect_value(value, names, seen, parts)


def _collect_value(value: Any, names: set[str], seen: set[int], parts: list[str]) -> None:
    if isinstance(value, str):
        parts.append(value)
    elif inspect.isfunction(value) and _ours(value.__module__):
        _collect(value, seen, parts)
    elif isinstance(value, ModuleType) and _ours(value.__name__):
        for attribute in names:
            inner = getattr(value, attribute, None)
            if isinstance(inner, str) or inspect.isfunction(inner):
                _collect_value(inner, set(), seen, parts)


def _names(code: CodeType) -> Iterator[str]:
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield from _names(const)


def _ours(module: str) -> bool:
    return module.split(".")[0] in PROJECT_APPS or module.startswith("config.")


def _name(function: Any) -> str:
    return str(getattr(function, "__name__", function))
