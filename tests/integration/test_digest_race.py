"""Many runs of one workspace's digest at once (real PostgreSQL): the week is
claimed once, one delivery per channel is written, each team gets one email."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from analytics.digest import DIGEST_EVENT, digest_send
from analytics.models import DigestRun
from outbound.models import Delivery, OutboxEvent
from tests.analytics.test_digest import WEEK, make_digest_team
from tests.factories import make_workspace

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8


def test_concurrent_runs_claim_the_week_once(mailoutbox) -> None:
    workspace = make_workspace(name="Acme", slug="acme")
    make_digest_team(workspace, "Product", "product@acme.test")
    make_digest_team(workspace, "Research", "research@acme.test")
    start = threading.Barrier(THREADS)
    runs: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait(timeout=30)
            runs.append(digest_send(workspace=workspace, week_start=WEEK))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(runs) == THREADS and len({r.pk for r in runs}) == 1
    assert DigestRun.objects.count() == 1
    assert OutboxEvent.objects.filter(event_type=DIGEST_EVENT).count() == 1
    assert sorted(Delivery.objects.values_list("status", "attempts")) == [("sent", 1)] * 2
    assert sorted(m.to for m in mailoutbox) == [["product@acme.test"], ["research@acme.test"]]
