"""Rollups stay exact when many customers finish at once (real PostgreSQL).

Threads run complete flows side by side, all with the same plan, reason and
outcome, so without shards they would all update the same counter rows. Every
transition commits its rollup delta with the session, so afterwards the rollups
must equal a recount, with no lost update and no deadlock."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from django.db import connection

from analytics.selectors import AnalyticsFilters, funnel, workspace_today
from analytics.services import rollups_rebuild
from surveys.services import session_accept, session_answer, session_cancel
from tests.factories import make_offer, make_session, make_workspace

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 6
FLOWS_PER_THREAD = 15


def test_concurrent_flows_leave_exact_rollups(monkeypatch) -> None:
    monkeypatch.setattr("outbound.services.task_queue", lambda *args, **kwargs: None)
    workspace = make_workspace(slug="busy")
    make_offer(workspace)
    errors: list[BaseException] = []

    def customer_stream(worker: int) -> None:
        try:
            for i in range(FLOWS_PER_THREAD):
                session = make_session(workspace, plan="Pro", mrr_cents=1000)
                session = session_answer(token=session.token, reason_code="too_expensive")
                if (worker + i) % 3:
                    session_cancel(token=session.token)
                else:
                    session_accept(token=session.token, offer_id=session.offer_id or 0)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=customer_stream, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []

    total = THREADS * FLOWS_PER_THREAD
    report = rollups_rebuild(workspace=workspace, apply=False)
    assert report.sessions_counted == total
    assert report.differences == []
    today = workspace_today(workspace)
    figures = funnel(
        workspace=workspace, filters=AnalyticsFilters(date_from=date(2020, 1, 1), date_to=today)
    )
    assert figures["started"] == figures["answered"] == figures["offered"] == total
    assert figures["saved"] + figures["cancelled"] == total
    assert figures["saved"] == sum(
        1 for w in range(THREADS) for i in range(FLOWS_PER_THREAD) if (w + i) % 3 == 0
    )
