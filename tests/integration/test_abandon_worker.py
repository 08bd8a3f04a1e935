"""The periodic abandon task runs on a real worker against PostgreSQL and Redis."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from surveys.models import CancelSession, Outcome, SessionStatus
from surveys.tasks import sessions_abandon_stale
from tests.factories import make_session, make_workspace
from tests.integration.conftest import wait_for


def test_stale_sessions_are_abandoned_by_a_real_worker(celery_worker_process) -> None:
    workspace = make_workspace()
    stale = make_session(workspace)
    fresh = make_session(workspace)
    CancelSession.objects.filter(pk=stale.pk).update(
        created_at=timezone.now() - timedelta(hours=25)
    )

    sessions_abandon_stale.delay()

    def abandoned() -> bool:
        stale.refresh_from_db()
        return stale.status == SessionStatus.ABANDONED

    wait_for(abandoned)
    fresh.refresh_from_db()
    assert stale.outcome == Outcome.ABANDONED
    assert fresh.status == SessionStatus.STARTED
