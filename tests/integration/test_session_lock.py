"""The flow's locked read (surveys.repository) holds the session row: a second
transaction cannot take it while the first is open. PostgreSQL only, as every
integration test (SQLite locks the whole database, there is no row to hold)."""

from __future__ import annotations

import threading

import pytest
from django.db import OperationalError, connections, transaction

from surveys.repository import session_row
from tests.factories import make_session, make_workspace


@pytest.mark.django_db(transaction=True)
def test_the_locked_read_holds_the_session_row_until_commit() -> None:
    session = make_session(make_workspace())
    outcomes: list[str] = []

    def second_locker() -> None:
        try:
            with transaction.atomic():
                with connections["default"].cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '300ms'")
                session_row(token=session.token, locked=True)
                outcomes.append("locked")
        except OperationalError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    with transaction.atomic():
        assert session_row(token=session.token, locked=True) is not None
        thread = threading.Thread(target=second_locker)
        thread.start()
        thread.join(10)
    assert outcomes == ["refused"]

    # Once the first transaction has ended, the row can be taken again.
    thread = threading.Thread(target=second_locker)
    thread.start()
    thread.join(10)
    assert outcomes == ["refused", "locked"]
