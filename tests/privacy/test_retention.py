from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from privacy.models import ErasureRecord
from privacy.services import customer_pseudonym, retention_erase
from privacy.tasks import retention_erase as retention_task
from surveys.models import CancelSession, Response
from surveys.services import session_answer, session_cancel, sessions_abandon_stale
from tests.factories import UserFactory, make_workspace
from tests.privacy.conftest import open_session
from tests.privacy.test_erase import rollups_check
from tests.test_settings import start
from workspaces.models import Workspace
from workspaces.services import membership_add

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def finished(workspace: Workspace, customer: str, *, days_ago: float) -> CancelSession:
    """A session answered in the customer's words and cancelled ``days_ago``."""
    at = NOW - timedelta(days=days_ago)
    session = open_session(workspace, customer, f"sub_{customer}", now=at)
    session_answer(token=session.token, reason_code="quality", text=f"words of {customer}", now=at)
    session_cancel(token=session.token, now=at + timedelta(minutes=1))
    return session


def held(session: CancelSession) -> bool:
    session.refresh_from_db()
    return session.personal_data_erased_at is None and session.customer_email != ""


@pytest.fixture
def sessions(settings: Any, workspace: Workspace) -> dict[str, Any]:
    settings.RETAIN_PERSONAL_DATA_DAYS = 30
    keeper = make_workspace(name="Keeper", slug="keeper")
    brief = make_workspace(name="Brief", slug="brief")
    Workspace.objects.filter(pk=keeper.pk).update(retain_personal_data_days=0)
    Workspace.objects.filter(pk=brief.pk).update(retain_personal_data_days=7)
    return {
        "old": finished(workspace, "cus_old", days_ago=40),
        "old_too": finished(workspace, "cus_old2", days_ago=31),
        "recent": finished(workspace, "cus_recent", days_ago=10),
        "kept_forever": finished(keeper, "cus_keeper", days_ago=400),
        "brief_old": finished(brief, "cus_brief", days_ago=10),
        "brief_new": finished(brief, "cus_brief_new", days_ago=3),
        "open": open_session(workspace, "cus_open", "sub_open", now=NOW - timedelta(hours=1)),
    }


def test_retention_erases_finished_sessions_past_the_workspace_period(
    sessions: dict[str, Any],
) -> None:
    erased = retention_erase(now=NOW)

    assert erased == 3
    for name, customer in (("old", "cus_old"), ("old_too", "cus_old2"), ("brief_old", "cus_brief")):
        session = sessions[name]
        assert not held(session), name
        # The same pseudonym as erasing that customer on request gives.
        assert session.customer_id == customer_pseudonym(
            workspace_id=session.workspace_id, customer_id=customer
        )
        assert Response.objects.get(session=session).text == ""
    for name in ("recent", "kept_forever", "brief_new", "open"):
        assert held(sessions[name]), name
    assert rollups_check() == ""


def test_retention_is_recorded_per_batch_without_personal_data(sessions: dict[str, Any]) -> None:
    retention_erase(now=NOW, batch_size=1)

    records = ErasureRecord.objects.order_by("pk")
    assert [(r.workspace.slug, r.erased_by, r.actor, r.customers) for r in records] == [
        ("acme", "retention", "retention", 1),
        ("acme", "retention", "retention", 1),
        ("brief", "retention", "retention", 1),
    ]
    assert all(r.pseudonym == "" and r.counts["sessions"] == 1 for r in records)
    assert all(r.counts["answers"] == 1 for r in records)


def test_retention_skips_what_it_erased_before(sessions: dict[str, Any]) -> None:
    assert retention_erase(now=NOW) == 3
    pseudonyms = set(
        CancelSession.objects.filter(personal_data_erased_at__isnull=False).values_list(
            "customer_id", flat=True
        )
    )

    assert retention_erase(now=NOW + timedelta(hours=1)) == 0
    assert ErasureRecord.objects.count() == 2  # one batch per workspace, the first time
    assert (
        set(
            CancelSession.objects.filter(personal_data_erased_at__isnull=False).values_list(
                "customer_id", flat=True
            )
        )
        == pseudonyms
    )


def test_abandoned_sessions_are_erased_too(settings: Any, workspace: Workspace) -> None:
    settings.RETAIN_PERSONAL_DATA_DAYS = 30
    session = open_session(workspace, "cus_gone", "sub_gone", now=NOW - timedelta(days=60))
    assert sessions_abandon_stale(now=NOW - timedelta(days=58)) == 1

    assert retention_erase(now=NOW) == 1
    assert not held(session)


def test_nothing_is_erased_by_default(sessions: dict[str, Any], settings: Any) -> None:
    settings.RETAIN_PERSONAL_DATA_DAYS = 0
    assert retention_erase(now=NOW) == 1  # only the workspace keeping 7 days
    assert held(sessions["old"]) and not held(sessions["brief_old"])


def test_the_beat_task_runs_the_retention(sessions: dict[str, Any]) -> None:
    schedule = django_settings.CELERY_BEAT_SCHEDULE["personal-data-retention"]
    assert schedule["task"] == retention_task.name
    assert retention_task.apply().get() == 3
    assert not held(sessions["old"])


def test_workspace_admin_sets_the_retention(workspace: Workspace) -> None:
    user = UserFactory(is_superuser=True)
    membership_add(workspace=workspace, user=user, role="admin")
    client = Client()
    client.force_login(user)
    page = client.get(f"/admin/workspaces/workspace/{workspace.pk}/change/")
    assert page.status_code == 200
    assert "retain_personal_data_days" in page.content.decode()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("a month", "RETAIN_PERSONAL_DATA_DAYS='a month' is not a whole number"),
        ("-1", "RETAIN_PERSONAL_DATA_DAYS=-1 must be at least 0"),
        ("100000", "RETAIN_PERSONAL_DATA_DAYS=100000 must be at most 36500"),
    ],
)
def test_the_setting_is_parsed_strictly(value: str, message: str) -> None:
    result = start(RETAIN_PERSONAL_DATA_DAYS=value)
    assert result.returncode != 0
    assert message in result.stderr
