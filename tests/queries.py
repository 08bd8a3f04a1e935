"""Pin the number of SQL queries a request makes.

Transaction control (BEGIN, COMMIT, SAVEPOINT, RELEASE) is not counted: SQLite
reports it as statements and PostgreSQL does not, and the budget is about the
reads and writes a request makes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


@contextmanager
def max_queries(limit: int) -> Iterator[CaptureQueriesContext]:
    with CaptureQueriesContext(connection) as context:
        yield context
    statements = [
        q["sql"] for q in context.captured_queries if not q["sql"].upper().startswith(_CONTROL)
    ]
    if len(statements) > limit:
        listing = "\n".join(s[:160] for s in statements)
        pytest.fail(f"{len(statements)} queries, more than {limit}:\n{listing}")
