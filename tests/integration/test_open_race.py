"""Opening a session for one subscription from many requests at once (real
PostgreSQL): a double click, a retry and the widget racing the server call all
get the same open session, and it is counted once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from analytics.services import rollups_rebuild
from surveys.models import CancelSession
from surveys.services import CustomerInput, SubscriptionInput, session_open
from tests.factories import make_workspace

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8


@pytest.mark.parametrize("idempotency_key", ["", "retry-1"])
def test_racing_opens_share_one_session(monkeypatch, idempotency_key: str) -> None:
    monkeypatch.setattr("outbound.services.task_queue", lambda *args, **kwargs: None)
    workspace = make_workspace(slug="racing")
    start = threading.Barrier(THREADS)
    ids: list[int] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            start.wait(timeout=30)
            opened = session_open(
                workspace=workspace,
                customer=CustomerInput(id="cus_race"),
                subscription=SubscriptionInput(id="sub_race", plan="Pro", mrr_cents=4900),
                idempotency_key=idempotency_key,
            )
            ids.append(opened.session.pk)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=open_one) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(ids) == THREADS
    assert len(set(ids)) == 1
    assert CancelSession.objects.filter(workspace=workspace).count() == 1
    report = rollups_rebuild(workspace=workspace, apply=False)
    assert report.sessions_counted == 1
    assert report.differences == []
