"""The operations themselves (see the package's docstring): each subclasses the
plain Django operation, so the schema and the migration state they leave are
the plain ones."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.operations import (
    AddConstraint,
    AddField,
    AddIndex,
    AlterField,
    CreateModel,
    RemoveConstraint,
    RemoveField,
    RemoveIndex,
)
from django.db.migrations.operations.base import Operation
from django.db.migrations.state import ProjectState
from django.db.models import UniqueConstraint

from config.migration_ops.postgres import (
    fetch,
    is_postgres,
    outside_transaction,
    pg_create_index_concurrently,
    pg_editor,
)


class _SkipIfDone:
    """The database side of an operation is skipped when its effect is already
    there, so a non-atomic migration stopped after it can run again."""

    def already_done(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> bool:
        raise NotImplementedError

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if not self.already_done(app_label, schema_editor, from_state, to_state):
            super().database_forwards(  # type: ignore[misc]
                app_label, schema_editor, from_state, to_state
            )


def _columns(schema_editor: BaseDatabaseSchemaEditor, table: str) -> set[str]:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        return {c.name for c in connection.introspection.get_table_description(cursor, table)}


def _constraints(schema_editor: BaseDatabaseSchemaEditor, table: str) -> set[str]:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, table))


class AddFieldIfMissing(_SkipIfDone, AddField):
    """``AddField``, skipped where the column is already there."""

    def already_done(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> bool:
        model = to_state.apps.get_model(app_label, self.model_name)
        column = model._meta.get_field(self.name).column
        return column in _columns(schema_editor, model._meta.db_table)


class RemoveFieldIfPresent(_SkipIfDone, RemoveField):
    """``RemoveField``, skipped where the column is gone already."""

    def already_done(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> bool:
        model = from_state.apps.get_model(app_label, self.model_name)
        column = model._meta.get_field(self.name).column
        return column not in _columns(schema_editor, model._meta.db_table)


class RemoveConstraintIfPresent(_SkipIfDone, RemoveConstraint):
    """``RemoveConstraint``, skipped where the constraint is gone already."""

    def already_done(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> bool:
        model = from_state.apps.get_model(app_label, self.model_name)
        return self.name not in _constraints(schema_editor, model._meta.db_table)


class CreateModelIfMissing(_SkipIfDone, CreateModel):
    """``CreateModel``, skipped where the table is there already."""

    def already_done(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> bool:
        model = to_state.apps.get_model(app_label, self.name)
        with schema_editor.connection.cursor() as cursor:
            tables = schema_editor.connection.introspection.table_names(cursor)
        return model._meta.db_table in tables


class AddIndexConcurrently(AddIndex):
    """``AddIndex``, built with ``CREATE INDEX CONCURRENTLY`` on PostgreSQL: writes
    go on while it builds. Needs ``atomic = False`` there."""

    def describe(self) -> str:
        return f"Concurrently create index {self.index.name} on {self.model_name}"

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if not is_postgres(schema_editor):
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        pg_create_index_concurrently(
            schema_editor,
            self.index.name,
            lambda: pg_editor(schema_editor).add_index(model, self.index, concurrently=True),
        )

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if not is_postgres(schema_editor):
            super().database_backwards(app_label, schema_editor, from_state, to_state)
            return
        outside_transaction(schema_editor, f"DROP INDEX CONCURRENTLY {self.index.name}")
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            pg_editor(schema_editor).remove_index(model, self.index, concurrently=True)


class RemoveIndexConcurrently(RemoveIndex):
    """``RemoveIndex`` with ``DROP INDEX CONCURRENTLY`` on PostgreSQL (and the index
    rebuilt concurrently when undone). Needs ``atomic = False`` there."""

    def describe(self) -> str:
        return f"Concurrently remove index {self.name} from {self.model_name}"

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if not is_postgres(schema_editor):
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        outside_transaction(schema_editor, f"DROP INDEX CONCURRENTLY {self.name}")
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            index = from_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
            pg_editor(schema_editor).remove_index(model, index, concurrently=True)

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if not is_postgres(schema_editor):
            super().database_backwards(app_label, schema_editor, from_state, to_state)
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            index = to_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
            pg_create_index_concurrently(
                schema_editor,
                index.name,
                lambda: pg_editor(schema_editor).add_index(model, index, concurrently=True),
            )


class AddForeignKeyConcurrently(AddField):
    """``AddField`` of a nullable foreign key: on PostgreSQL the column comes
    first (no scan), then its index concurrently, then the constraint ``NOT
    VALID`` and its ``VALIDATE`` (which lets writes go on). Needs ``atomic =
    False`` there; the constraint and index have Django's usual names."""

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if not is_postgres(schema_editor):
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        field = model._meta.get_field(self.name)
        if not field.null or not field.remote_field:
            raise ValueError(f"{self.name}: only a nullable foreign key is added this way")
        outside_transaction(schema_editor, f"Adding the foreign key {self.name}")
        qn = schema_editor.quote_name
        table = model._meta.db_table
        with schema_editor.connection.cursor() as cursor:
            description = schema_editor.connection.introspection.get_table_description(
                cursor, table
            )
        if field.column not in {column.name for column in description}:
            schema_editor.execute(
                f"ALTER TABLE {qn(table)} ADD COLUMN {qn(field.column)} "
                f"{field.db_type(schema_editor.connection)} NULL"
            )
        if field.db_index:
            index_sql = pg_editor(schema_editor)._create_index_sql(
                model, fields=[field], concurrently=True
            )
            name = str(index_sql.parts["name"]).strip('"')
            pg_create_index_concurrently(
                schema_editor, name, lambda: schema_editor.execute(index_sql)
            )
        if field.db_constraint:
            fk_sql = pg_editor(schema_editor)._create_fk_sql(
                model, field, "_fk_%(to_table)s_%(to_column)s"
            )
            name = str(fk_sql.parts["name"]).strip('"')
            exists = fetch(
                schema_editor,
                "SELECT convalidated FROM pg_constraint WHERE conname = %s "
                "AND conrelid = %s::regclass",
                [name, table],
            )
            if not exists:
                schema_editor.execute(f"{fk_sql} NOT VALID")
            if not exists or not exists[0][0]:
                schema_editor.execute(f"ALTER TABLE {qn(table)} VALIDATE CONSTRAINT {qn(name)}")


class AddUniqueConstraintConcurrently(AddConstraint):
    """``AddConstraint`` of a unique constraint on plain fields: on PostgreSQL
    its index is built concurrently under a spare name, then attached as the
    constraint (``ADD CONSTRAINT … UNIQUE USING INDEX``, a moment's lock, which
    renames the index to the constraint's name). A conditional one is a partial
    unique index in PostgreSQL (as Django makes it), built concurrently under its
    own name. Needs ``atomic = False``."""

    def __init__(self, model_name: str, constraint: UniqueConstraint) -> None:
        if not isinstance(constraint, UniqueConstraint) or (
            constraint.expressions or getattr(constraint, "include", ())
        ):
            raise ValueError("only a unique constraint on plain fields is added this way")
        super().__init__(model_name, constraint)

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if not is_postgres(schema_editor):
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        qn = schema_editor.quote_name
        table = model._meta.db_table
        constraint: Any = self.constraint
        name = constraint.name
        spare = f"{name}_building"[:63]
        columns = ", ".join(qn(model._meta.get_field(f).column) for f in constraint.fields)
        if constraint.condition is not None:
            where = str(constraint._get_condition_sql(model, schema_editor))
            pg_create_index_concurrently(
                schema_editor,
                name,
                lambda: schema_editor.execute(
                    f"CREATE UNIQUE INDEX CONCURRENTLY {qn(name)} ON {qn(table)} ({columns}) "
                    f"WHERE {where}"
                ),
            )
            return
        if fetch(
            schema_editor,
            "SELECT 1 FROM pg_constraint WHERE conname = %s AND conrelid = %s::regclass",
            [name, table],
        ):
            return
        pg_create_index_concurrently(
            schema_editor,
            spare,
            lambda: schema_editor.execute(
                f"CREATE UNIQUE INDEX CONCURRENTLY {qn(spare)} ON {qn(table)} ({columns})"
            ),
        )
        schema_editor.execute(
            f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(name)} UNIQUE USING INDEX {qn(spare)}"
        )


class SetNotNullAfterCheck(AlterField):
    """``AlterField`` from ``null=True`` to ``null=False`` (nothing else changed).
    On PostgreSQL: ``ADD CONSTRAINT … CHECK (col IS NOT NULL) NOT VALID`` (a
    moment's lock), ``VALIDATE CONSTRAINT`` (scans, but lets reads and writes go
    on), ``SET NOT NULL`` (PostgreSQL 12+ proves it from the valid check, no scan),
    then the check is dropped. Each step commits on its own in a migration with
    ``atomic = False``.

    ``fill(apps, schema_editor)``, if given, runs once the check is in place and
    before it is validated: it fills the rows written without the column between
    the migration's copy and the check (by a version that does not know it)."""

    def __init__(self, *args: Any, fill: Callable[..., Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fill = fill

    def deconstruct(self) -> tuple[str, Sequence[Any], dict[str, Any]]:
        name, args, kwargs = super().deconstruct()
        if self.fill is not None:
            kwargs["fill"] = self.fill
        return name, args, kwargs

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if not is_postgres(schema_editor):
            if self.fill is not None:
                self.fill(from_state.apps, schema_editor)
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        old = from_state.apps.get_model(app_label, self.model_name)._meta.get_field(self.name)
        new = model._meta.get_field(self.name)
        old_kwargs, new_kwargs = old.deconstruct()[3], new.deconstruct()[3]
        old_kwargs.pop("null", None)
        new_kwargs.pop("null", None)
        if not old.null or new.null or old_kwargs != new_kwargs:
            raise ValueError(f"{self.name}: SetNotNullAfterCheck only makes a column NOT NULL")
        qn = schema_editor.quote_name
        table = model._meta.db_table
        check = f"{table}_{new.column}_not_null"[:63]
        found = fetch(
            schema_editor,
            "SELECT convalidated FROM pg_constraint WHERE conname = %s AND conrelid = %s::regclass",
            [check, table],
        )
        if not found:
            schema_editor.execute(
                f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(check)} "
                f"CHECK ({qn(new.column)} IS NOT NULL) NOT VALID"
            )
        if self.fill is not None:
            self.fill(from_state.apps, schema_editor)
        schema_editor.execute(f"ALTER TABLE {qn(table)} VALIDATE CONSTRAINT {qn(check)}")
        schema_editor.execute(f"ALTER TABLE {qn(table)} ALTER COLUMN {qn(new.column)} SET NOT NULL")
        schema_editor.execute(f"ALTER TABLE {qn(table)} DROP CONSTRAINT IF EXISTS {qn(check)}")

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        # AlterField undoes itself by running forwards between the swapped states;
        # dropping NOT NULL is instant, so the plain way it is.
        super().database_forwards(app_label, schema_editor, from_state, to_state)


class UniqueWithoutPatternIndex(Operation):
    """A ``unique=True`` CharField becomes a plain field with a ``UniqueConstraint``
    of the same name as the column's UNIQUE (which stays, untouched), and on
    PostgreSQL the second index Django made with it, ``<…>_like``
    (``varchar_pattern_ops``, for ``LIKE 'prefix%'``), is dropped concurrently.

    For a column looked up by equality only (a token, an event id): every insert
    and every new row version wrote both indexes, and with random values each
    write to the second dirtied a page of its own (a full page in the WAL after a
    checkpoint). ``field`` is the field without ``unique``. Undone, the index is
    built again concurrently. Needs ``atomic = False`` on PostgreSQL."""

    reduces_to_sql = False
    reversible = True

    def __init__(self, model_name: str, name: str, field: Any, constraint_name: str) -> None:
        self.model_name = model_name
        self.name = name
        self.field = field
        self.constraint_name = constraint_name

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return (
            self.__class__.__qualname__,
            [],
            {
                "model_name": self.model_name,
                "name": self.name,
                "field": self.field,
                "constraint_name": self.constraint_name,
            },
        )

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        model = self.model_name.lower()
        state.alter_field(app_label, model, self.name.lower(), self.field, True)
        constraint = UniqueConstraint(fields=[self.name], name=self.constraint_name)
        state.add_constraint(app_label, model, constraint)

    def _index(
        self, app_label: str, state: ProjectState, schema_editor: Any
    ) -> tuple[str, str, str]:
        model = state.apps.get_model(app_label, self.model_name)
        table = model._meta.db_table
        column = model._meta.get_field(self.name).column
        name = pg_editor(schema_editor)._create_index_name(table, [column], suffix="_like")
        return name, table, column

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if not is_postgres(schema_editor):
            return  # no such index elsewhere; the column keeps its UNIQUE
        name, _table, _column = self._index(app_label, from_state, schema_editor)
        outside_transaction(schema_editor, f"DROP INDEX CONCURRENTLY {name}")
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(name)}")

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if not is_postgres(schema_editor):
            return
        name, table, column = self._index(app_label, to_state, schema_editor)
        qn = schema_editor.quote_name
        pg_create_index_concurrently(
            schema_editor,
            name,
            lambda: schema_editor.execute(
                f"CREATE INDEX CONCURRENTLY {qn(name)} ON {qn(table)} "
                f"({qn(column)} varchar_pattern_ops)"
            ),
        )

    def describe(self) -> str:
        return (
            f"{self.model_name}.{self.name}: unique by {self.constraint_name}, "
            "without its LIKE index"
        )


class RunDeferredSQL(Operation):
    """Run now the statements Django keeps for the end of a migration (the
    foreign keys and indexes of tables created earlier in it), so that they are
    made while those tables are still empty, not over the rows a later batched
    data migration puts in (a foreign key checked over millions of rows holds a
    lock on the table it points to that blocks its writes)."""

    reduces_to_sql = False
    reversible = True

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        pass

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        while schema_editor.deferred_sql:
            schema_editor.execute(schema_editor.deferred_sql.pop(0))

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        pass

    def describe(self) -> str:
        return "Create the deferred foreign keys and indexes now"
