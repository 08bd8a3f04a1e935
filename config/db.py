"""Database helpers the apps share.

``custom_plans``: with prepared statements on (``DB_PREPARED_STATEMENTS``, see
settings), PostgreSQL plans a statement for its parameters the first five times
and may then keep one generic plan, made without them. That suits the flow's
statements, the same few small reads and writes on every request. It does not
suit the analytics reads, whose best plan depends on the values: a generic plan
cannot tell a two-day range from a six-month one, nor use an index whose
condition a parameter decides. Seen at 10M sessions: a daily trend over 180 days
went from 34 to 50-57 ms after its fifth call. Within ``custom_plans`` every
statement is planned for its own values again (the parsing is still saved).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

View = TypeVar("View", bound=Callable[..., Any])


@contextmanager
def custom_plans(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Plan every statement run within for its own parameters."""
    connection = connections[using]
    options = connection.settings_dict.get("OPTIONS") or {}
    if connection.vendor != "postgresql" or not options.get("server_side_binding"):
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_custom_plan")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("RESET plan_cache_mode")
        except DatabaseError:
            # Only a transaction that failed and is still open refuses it; the SET
            # was then made inside that transaction (or a savepoint of it), whose
            # rollback undoes it, so the connection keeps its cached plans.
            pass


def planned_per_call(view: View) -> View:
    """A view whose statements are planned for their own values (``custom_plans``)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with custom_plans():
            return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]
