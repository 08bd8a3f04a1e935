"""The flow's hot read, in one SQL statement written by hand.

Every flow request loads one session by its token with its workspace, survey,
offer and answer. Through the ORM (``select_related`` over four relations) that
query costs about five times its database time in Python: compiling the join,
then building five model instances column by column. Here the statement is
compiled once per database vendor and the rows become the same model instances
(``Model.from_db``, with the fields' own database converters, so JSON, UUIDs,
dates and booleans come back exactly as the ORM gives them), linked as
``select_related`` links them: reading ``session.workspace``, ``.survey``,
``.offer`` or ``.response`` makes no query.

On PostgreSQL the read is leaner still. The workspace, survey and offer are
configuration, the same for thousands of sessions: the statement reads only
their id and row version (``xmin``, which every change of the row renews) and
takes the instances from a small in-process cache keyed by both, so a row
changed in any way is read afresh and never served stale. Only when one of them
is not cached yet is the full statement run (the same row, once more). Each
caller gets its own copy of a cached instance. SQLite has no row version: there
the statement always reads everything.

This is the only module with hand-written SQL for the flow; it is tested on
SQLite and PostgreSQL (``tests/surveys/test_repository.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Field, Model
from django.db.models.base import ModelState

from config.lru import LRU
from surveys.models import CancelSession, Outcome, Response, Survey
from workspaces.models import Workspace

Converter = Callable[[Any, Any, Any], Any]

# The offer's model belongs to an app above this one: reached through the
# relation, never imported.
Offer: type[Model] = CancelSession._meta.get_field("offer").related_model

# (alias, model, required): the session first, then what it is read with. A
# required relation is an inner join; the offer and the answer may be missing.
_PARTS: tuple[tuple[str, type[Model], bool], ...] = (
    ("s", CancelSession, True),
    ("w", Workspace, True),
    ("v", Survey, True),
    ("o", Offer, False),
    ("r", Response, False),
)


# The parts that are configuration, cached by (id, row version) on PostgreSQL.
_CONFIG_ALIASES = ("w", "v", "o")


class _Part:
    def __init__(self, alias: str, model: type[Model], vendor_connection: Any) -> None:
        self.alias = alias
        self.model = model
        self.fields: list[Field] = list(model._meta.concrete_fields)
        self.attnames = [f.attname for f in self.fields]
        self.columns = ", ".join(
            f"{alias}.{vendor_connection.ops.quote_name(f.column)}" for f in self.fields
        )
        self.converters: list[tuple[int, list[Converter], Any]] = []
        for index, field in enumerate(self.fields):
            col = field.get_col(alias)
            found = vendor_connection.ops.get_db_converters(col) + field.get_db_converters(
                vendor_connection
            )
            if found:
                self.converters.append((index, found, col))

    def build(self, values: list[Any], db: str, vendor_connection: Any) -> Model:
        for index, converters, col in self.converters:
            value = values[index]
            for convert in converters:
                value = convert(value, col, vendor_connection)
            values[index] = value
        return self.model.from_db(db, self.attnames, values)


# The last configuration rows read, by (alias, id, row version); callers take
# and give copies (``_copy``), so no two requests share an instance.
CONFIGURATION: LRU[tuple[str, Any, str], Model] = LRU(512)


def _copy(instance: Model) -> Model:
    """A model instance of its own with the same field values and no related
    objects cached: what ``copy.copy`` gives, in a fraction of its time (the
    values are shared; nothing on the flow's path changes a JSON value in place)."""
    duplicate = instance.__class__.__new__(instance.__class__)
    duplicate.__dict__ = instance.__dict__.copy()
    duplicate._state = ModelState()
    duplicate._state.adding = False
    duplicate._state.db = instance._state.db
    return duplicate


def _versioned(vendor: str) -> bool:
    return vendor == "postgresql"


@cache
def _statement(
    vendor: str, *, locked: bool, with_history: bool, lean: bool = False
) -> tuple[str, tuple[_Part, ...]]:
    """The SQL and how to read its row, per database vendor (built once). On
    PostgreSQL each configuration part is followed by its row version; ``lean``
    reads only the id and row version of those parts."""
    q = connection.ops.quote_name
    parts = tuple(_Part(alias, model, connection) for alias, model, _ in _PARTS)
    session_table = q(CancelSession._meta.db_table)
    columns = []
    for part in parts:
        if part.alias not in _CONFIG_ALIASES or not _versioned(vendor):
            columns.append(part.columns)
            continue
        pk = f"{part.alias}.{q(str(part.model._meta.pk.column))}"
        read = pk if lean else part.columns
        columns.append(f"{read}, {part.alias}.xmin::text")
    select = ", ".join(columns)
    history = ""
    if with_history:
        offer_ids = (
            "STRING_AGG((h.offer_id)::text, ',')"
            if vendor == "postgresql"
            else "GROUP_CONCAT(h.offer_id)"
        )
        saved = (
            f"FROM {session_table} h WHERE h.workspace_id = s.workspace_id "
            f"AND h.customer_id = s.customer_id AND h.outcome = %s AND h.kept = %s"
        )
        history = (
            f", (SELECT h.completed_at {saved} ORDER BY h.completed_at DESC LIMIT 1)"
            f", (SELECT {offer_ids} {saved} AND h.offer_id IS NOT NULL)"
        )
    sql = (
        f"SELECT {select}{history} FROM {session_table} s "
        f"INNER JOIN {q(Workspace._meta.db_table)} w ON w.id = s.workspace_id "
        f"INNER JOIN {q(Survey._meta.db_table)} v ON v.id = s.survey_id "
        f"LEFT OUTER JOIN {q(Offer._meta.db_table)} o ON o.id = s.offer_id "
        f"LEFT OUTER JOIN {q(Response._meta.db_table)} r ON r.session_id = s.id "
        f"WHERE s.token = %s"
    )
    if locked and connection.features.has_select_for_update:
        sql += " FOR UPDATE OF s" if connection.features.has_select_for_update_of else " FOR UPDATE"
    return sql, parts


def _fetch(sql: str, params: list[Any]) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _read(
    row: Any, parts: tuple[_Part, ...], *, lean: bool
) -> tuple[list[Model | None] | None, int]:
    """The row's instances (session, workspace, survey, offer, answer) and where
    the row's history columns start; None for the instances when ``lean`` found a
    configuration row that is not cached."""
    db = connection.alias
    versioned = _versioned(connection.vendor)
    objects: list[Model | None] = []
    start = 0
    for (_, _, required), part in zip(_PARTS, parts, strict=True):
        cached = versioned and part.alias in _CONFIG_ALIASES
        width = 1 if lean and cached else len(part.fields)
        values = list(row[start : start + width])
        start += width
        if cached:
            version = row[start]
            start += 1
            if values[0] is None:  # an outer join that found nothing
                objects.append(None)
                continue
            key = (part.alias, values[0], version)
            if lean:
                found = CONFIGURATION.get(key)
                if found is None:
                    return None, start
                objects.append(_copy(found))
                continue
            instance = part.build(values, db, connection)
            CONFIGURATION.put(key, _copy(instance))
            objects.append(instance)
            continue
        # An outer join that found nothing: its primary key is NULL.
        objects.append(
            part.build(values, db, connection) if required or values[0] is not None else None
        )
    return objects, start


def session_row(
    *, token: str, locked: bool = False, with_history: bool = False
) -> CancelSession | None:
    """The session with ``token``, with its workspace, survey, offer and answer
    (``None`` when there is none), or None. ``locked``: the session's row is
    locked for the transaction (``SELECT … FOR UPDATE OF`` the session only).
    ``with_history`` also sets the customer's past acceptances on it:
    ``history_last_saved_at`` (when they last accepted an offer) and
    ``history_offer_ids`` (the offers they accepted, comma-separated)."""
    vendor = connection.vendor
    params: list[Any] = [str(Outcome.SAVED.value), False] * 2 if with_history else []
    params.append(token)
    objects: list[Model | None] | None = None
    if _versioned(vendor):
        sql, parts = _statement(vendor, locked=locked, with_history=with_history, lean=True)
        row = _fetch(sql, params)
        if row is None:
            return None
        objects, start = _read(row, parts, lean=True)
    if objects is None:  # SQLite, or a configuration row not cached yet
        sql, parts = _statement(vendor, locked=locked, with_history=with_history)
        row = _fetch(sql, params)
        if row is None:
            return None
        objects, start = _read(row, parts, lean=False)
    assert objects is not None  # the full read caches what it reads
    session, workspace, survey, offer, response = objects
    assert isinstance(session, CancelSession)
    fields = CancelSession._meta
    fields.get_field("workspace").set_cached_value(session, workspace)
    fields.get_field("survey").set_cached_value(session, survey)
    fields.get_field("offer").set_cached_value(session, offer)
    fields.get_field("response").set_cached_value(session, response)
    if response is not None:
        Response._meta.get_field("session").set_cached_value(response, session)
    if with_history:
        last_saved_at, offer_ids = row[start], row[start + 1]
        if last_saved_at is not None:
            field = CancelSession._meta.get_field("completed_at")
            col = field.get_col("h")
            for convert in connection.ops.get_db_converters(col) + field.get_db_converters(
                connection
            ):
                last_saved_at = convert(last_saved_at, col, connection)
        session.history_last_saved_at = last_saved_at  # type: ignore[attr-defined]
        session.history_offer_ids = offer_ids  # type: ignore[attr-defined]
    return session


@dataclass(frozen=True)
class Computed:
    """A field's value the database works out as it writes the session: ``sql``
    (a scalar subquery, its parameters ``params``) in place of the value, in the
    same ``UPDATE``; the session gets the value back (``RETURNING``). It reads
    what is committed when the statement starts, the session's row locked."""

    sql: str
    params: tuple[Any, ...] = ()


@cache
def _update_statement(
    vendor: str, names: tuple[str, ...], computed: tuple[tuple[str, str], ...] = ()
) -> tuple[str, tuple[Field, ...]]:
    """``UPDATE`` of the session's ``names`` fields by primary key, per vendor;
    ``computed``: (name, SQL) of the fields set from SQL, returned."""
    q = connection.ops.quote_name
    fields = tuple(CancelSession._meta.get_field(name) for name in names)
    by_sql = dict(computed)
    assigned = ", ".join(
        f"{q(str(field.column))} = ({by_sql[field.name]})"  # type: ignore[union-attr]
        if field.name in by_sql
        else f"{q(str(field.column))} = %s"  # type: ignore[union-attr]
        for field in fields
    )
    pk = CancelSession._meta.pk
    assert pk is not None
    sql = f"UPDATE {q(CancelSession._meta.db_table)} SET {assigned} WHERE {q(str(pk.column))} = %s"
    if computed:
        returned = (CancelSession._meta.get_field(name) for name, _sql in computed)
        sql += " RETURNING " + ", ".join(q(str(f.column)) for f in returned)  # type: ignore[union-attr]
    return sql, fields  # type: ignore[return-value]


def session_update(session: CancelSession, fields: list[str]) -> None:
    """Write the session's ``fields`` (names, as for ``save(update_fields=…)``) in
    one statement: what ``save`` sends, without building the query each time (the
    model has no signals and no ``auto_now`` fields to honour). A field holding
    ``Computed`` is set from its SQL and then holds the value written."""
    names = tuple(dict.fromkeys(fields))
    values = [getattr(session, _attname(name)) for name in names]
    computed = tuple(
        (name, value.sql)
        for name, value in zip(names, values, strict=True)
        if isinstance(value, Computed)
    )
    sql, model_fields = _update_statement(connection.vendor, names, computed)
    params: list[Any] = []
    for field, value in zip(model_fields, values, strict=True):
        if isinstance(value, Computed):
            params.extend(value.params)
        else:
            params.append(field.get_db_prep_save(value, connection))
    pk = CancelSession._meta.pk
    assert pk is not None
    params.append(pk.get_db_prep_save(session.pk, connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if computed:
            returned = dict(zip((name for name, _sql in computed), cursor.fetchone(), strict=True))
            for field in model_fields:
                if field.name in returned:
                    setattr(session, field.attname, _from_db(field, returned[field.name]))


@cache
def _attname(name: str) -> str:
    return str(CancelSession._meta.get_field(name).attname)  # type: ignore[union-attr]


def _from_db(field: Field, value: Any) -> Any:
    """A value read back as the ORM would hand it (SQLite: text to datetime)."""
    col = field.get_col(CancelSession._meta.db_table)
    for convert in connection.ops.get_db_converters(col) + field.get_db_converters(connection):
        value = convert(value, col, connection)
    return value
