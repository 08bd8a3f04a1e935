"""Data changes on large tables in short transactions: ``run_in_batches`` by
primary-key ranges with progress, and the ``@batched`` mark that
``config.migration_safety`` looks for."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db import transaction
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

from config.migration_ops.postgres import fetch

Function = TypeVar("Function", bound=Callable[..., Any])

BATCH_SIZE = 5000
PROGRESS_EVERY_SECONDS = 5.0


def batched(function: Function) -> Function:
    """Mark a data migration function as working in short batches (it calls
    ``run_in_batches`` or does the same); ``config.migration_safety`` lets only
    such functions touch large tables, and only in non-atomic migrations."""
    function.batched = True  # type: ignore[attr-defined]
    return function


@contextmanager
def progress(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """Print ``label: done/total`` at most every few seconds while a long job runs."""
    started = last = time.monotonic()
    done = 0
    if total > BATCH_SIZE:
        print(file=sys.stdout)  # off the line of `migrate`'s "Applying …"

    def advance(rows: int) -> None:
        nonlocal done, last
        done += rows
        now = time.monotonic()
        if total > BATCH_SIZE and now - last >= PROGRESS_EVERY_SECONDS:
            last = now
            share = min(done / total, 1.0) if total else 1.0
            print(f"  {label}: {done:,} of ~{total:,} rows ({share:.0%})", file=sys.stdout)
            sys.stdout.flush()

    yield advance
    if total > BATCH_SIZE:
        print(f"  {label}: {done:,} rows in {time.monotonic() - started:.0f} s", file=sys.stdout)


def run_in_batches(
    schema_editor: BaseDatabaseSchemaEditor,
    *,
    table: str,
    statement: str,
    label: str,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Run ``statement`` once per range of ``table``'s integer primary key ``id``,
    each range in its own short transaction; ``statement`` takes the range as two
    parameters (``%s``: from, inclusive, and to, exclusive). Rows added while it
    runs (above the highest id seen at the start) are done too. Returns the rows
    changed."""
    qn = schema_editor.quote_name
    alias = schema_editor.connection.alias
    low, high = fetch(schema_editor, f"SELECT MIN(id), MAX(id) FROM {qn(table)}", [])[0]
    if low is None:
        return 0
    changed = 0
    with progress(label, high - low + 1) as advance:
        start = low
        while True:
            while start <= high:
                end = start + batch_size
                with transaction.atomic(using=alias), schema_editor.connection.cursor() as cursor:
                    cursor.execute(statement, [start, end])
                    changed += max(cursor.rowcount, 0)
                advance(min(end, high + 1) - start)
                start = end
            # Rows written meanwhile.
            newest = fetch(schema_editor, f"SELECT MAX(id) FROM {qn(table)}", [])[0][0]
            if newest is None or newest <= high:
                return changed
            high = newest
