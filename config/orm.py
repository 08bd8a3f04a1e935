"""Cheaper ORM calls for the statements run on every request: an insert
(``row_create``, ``row_insert``) and a read (``CompiledQuery``) compiled once.

``create`` builds the same ``INSERT`` each time: an insert query, its compiler,
the placeholders per field, the ``RETURNING`` clause, about half a millisecond of
CPU for a row of eight columns, more than the database takes to write it. Here
the statement is compiled by Django once per model and database vendor (the
ORM's own SQL, not hand-written) and each call only prepares the values, as
``save`` would (``pre_save``, ``get_db_prep_save``), then sets the primary key
(and any other column the database returns) on the instance.

For models with no ``save`` of their own, no signals receivers on save and no
inheritance: the rows of an outbox, an answer.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, Generic, TypeVar

from django.db import connection
from django.db.models import Field, Model, QuerySet, UniqueConstraint
from django.db.models.query import get_related_populators
from django.db.models.sql import InsertQuery

M = TypeVar("M", bound=Model)


@cache
def _insert(model: type[Model], vendor: str) -> tuple[str, tuple[Field, ...], tuple[Field, ...]]:
    """(sql, the fields it inserts, the fields it returns) for ``model``."""
    meta = model._meta
    returning = tuple(meta.db_returning_fields)
    fields = tuple(f for f in meta.local_concrete_fields if f not in returning and not f.generated)
    query = InsertQuery(model)
    query.insert_values(fields, [model()])
    compiler = query.get_compiler(connection=connection)
    if connection.features.can_return_columns_from_insert:
        compiler.returning_fields = list(returning)
    [(sql, _params)] = compiler.as_sql()
    return sql, fields, returning


def row_create(model: type[M], **values: Any) -> M:
    """``model.objects.create(**values)``, the statement compiled once."""
    return row_insert(model(**values))


def row_insert(obj: M) -> M:
    """``obj.save(force_insert=True)`` for a new instance, the statement compiled
    once; a conflict raises ``IntegrityError`` as ``save`` does."""
    model = type(obj)
    sql, fields, returning = _insert(model, connection.vendor)
    params = [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if returning and connection.features.can_return_columns_from_insert:
            _returned_set(obj, returning, cursor.fetchone())
        elif returning:
            pk = model._meta.pk
            assert pk is not None
            setattr(
                obj,
                pk.attname,
                connection.ops.last_insert_id(cursor, model._meta.db_table, str(pk.column)),
            )
    obj._state.adding = False
    obj._state.db = connection.alias
    return obj


@cache
def _insert_unless(model: type[Model], vendor: str, constraint_name: str) -> str:
    """``_insert``'s statement with ``ON CONFLICT (…) [WHERE …] DO NOTHING`` for
    the model's unique constraint ``constraint_name`` (its condition too, so the
    database infers a partial unique index), before any ``RETURNING``."""
    sql, _fields, returning = _insert(model, vendor)
    if returning and not connection.features.can_return_columns_from_insert:
        raise ValueError(f"{model.__name__}: its insert returns columns; {vendor} cannot")
    found = [
        c
        for c in model._meta.constraints
        if c.name == constraint_name and isinstance(c, UniqueConstraint)
    ]
    if not found:
        raise ValueError(f"{model.__name__} has no unique constraint {constraint_name!r}")
    [constraint] = found
    q = connection.ops.quote_name
    targets = [model._meta.get_field(name) for name in constraint.fields]
    if not all(isinstance(f, Field) for f in targets):
        raise ValueError(f"{constraint_name}: only columns of {model.__name__} itself")
    columns = ", ".join(q(str(f.column)) for f in targets)  # type: ignore[union-attr]
    clause = f" ON CONFLICT ({columns})"
    if constraint.condition is not None:
        # The constraint's own SQL for its condition, as its index was made with.
        # (Django's private helper: the stubs do not list it.)
        editor = connection.schema_editor()
        clause += " WHERE " + constraint._get_condition_sql(model, editor)  # type: ignore[attr-defined]
    head, returning_sql, tail = sql.partition(" RETURNING ")
    if returning and not returning_sql:
        raise ValueError(f"{model.__name__}: no RETURNING found in {sql!r}")
    return head + clause + " DO NOTHING" + returning_sql + tail


def row_insert_unless(obj: Model, *, constraint: str) -> bool:
    """``row_insert``, except that a row clashing with the unique ``constraint``
    is not written and raises nothing: ``INSERT … ON CONFLICT DO NOTHING``, one
    statement where a read first would take two. True when the row was written.
    A clash with any other constraint still raises ``IntegrityError``."""
    model = type(obj)
    _sql, fields, returning = _insert(model, connection.vendor)
    sql = _insert_unless(model, connection.vendor, constraint)
    params = [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if returning:
            row = cursor.fetchone()
            written = row is not None
            if row is not None:
                _returned_set(obj, returning, row)
        else:
            written = cursor.rowcount == 1
    if written:
        obj._state.adding = False
        obj._state.db = connection.alias
    return written


def _returned_set(obj: Model, returning: tuple[Field, ...], row: Any) -> None:
    for field, value in zip(returning, row, strict=True):
        for convert in field.get_db_converters(connection):
            value = convert(value, field, connection)
        setattr(obj, field.attname, value)


class CompiledQuery(Generic[M]):
    """A queryset's SQL compiled once, then run with other values.

    ``build(**samples)`` makes the queryset from sample values, one per parameter,
    each a ``str`` or ``int`` that appears nowhere else in the query; they are
    found among the compiled statement's parameters, and each run puts its own
    values in their places. The rows become model instances as the queryset's
    own iteration makes them (converters, ``select_related`` instances), for a
    fraction of the CPU: a one-row read with a join costs about a tenth of the
    ORM's time building and compiling it again.

    Compiled per database vendor, on first use.
    """

    def __init__(self, build: Callable[..., QuerySet[M]], **samples: str | int) -> None:
        for name, value in samples.items():
            if type(value) not in (str, int):
                raise TypeError(f"sample {name!r}: a str or an int, not {type(value).__name__}")
        self._build = build
        self._samples = samples
        self._compiled: dict[str, tuple[Any, str, tuple[Any, ...], dict[str, int]]] = {}

    def _compile(self) -> tuple[Any, str, tuple[Any, ...], dict[str, int]]:
        found = self._compiled.get(connection.vendor)
        if found is not None:
            return found
        queryset = self._build(**self._samples)
        compiler = queryset.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        params = tuple(params)
        positions: dict[str, int] = {}
        for name, value in self._samples.items():
            matches = [i for i, p in enumerate(params) if type(p) is type(value) and p == value]
            if len(matches) != 1:
                raise ValueError(f"sample {name!r} appears {len(matches)} times in the query")
            positions[name] = matches[0]
        found = (compiler, sql, params, positions)
        self._compiled[connection.vendor] = found
        return found

    def all(self, **values: str | int) -> list[M]:
        """The rows for these values, as the queryset would give them."""
        compiler, sql, template, positions = self._compile()
        params = list(template)
        for name, index in positions.items():
            params[index] = values[name]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if not rows:
            return []
        select, klass_info = compiler.select, compiler.klass_info
        model = klass_info["model"]
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        attnames = [column[0].target.attname for column in select[start:end]]
        # Django 5.2's signature (the stubs describe 6.x, which adds fetch_mode).
        populators = get_related_populators(klass_info, select, connection.alias)  # type: ignore[call-arg]
        objects = []
        for row in compiler.results_iter([rows]):
            obj = model.from_db(connection.alias, attnames, row[start:end])
            for populator in populators:
                populator.populate(row, obj)
            objects.append(obj)
        return objects

    def first(self, **values: str | int) -> M | None:
        """The first row for these values (build the queryset with ``[:1]``)."""
        found = self.all(**values)
        return found[0] if found else None
