from __future__ import annotations

import pytest
from django.test import Client

from alerts.models import Alert, AlertChange
from surveys.services import session_answer, session_cancel
from tests.alerts.conftest import make_rule, make_team
from tests.factories import UserFactory, make_session
from workspaces.models import Role
from workspaces.services import membership_add

pytestmark = pytest.mark.django_db


@pytest.fixture
def alert(workspace, outbound, django_capture_on_commit_callbacks) -> Alert:
    team = make_team(workspace, "Success")
    make_rule(workspace, team)
    session = make_session(workspace, mrr_cents=29900)
    with django_capture_on_commit_callbacks(execute=True):
        session_answer(token=session.token, reason_code="switching", text="Moving to Acme")
        session_cancel(token=session.token)
    return Alert.objects.get()


def member(workspace, role: str) -> Client:
    user = UserFactory()
    membership_add(workspace=workspace, user=user, role=role)
    client = Client()
    client.force_login(user)
    client.user = user  # type: ignore[attr-defined]
    return client


def test_support_sees_the_alert_and_works_it(workspace, alert) -> None:
    client = member(workspace, Role.SUPPORT)
    listing = client.get(f"/app/{workspace.slug}/inbox/")
    assert listing.status_code == 200
    page = listing.content.decode()
    assert alert.session.customer_id in page or alert.session.customer_email in page
    detail = client.get(f"/app/{workspace.slug}/inbox/{alert.pk}/")
    assert "Moving to Acme" in detail.content.decode()

    response = client.post(
        f"/app/{workspace.slug}/inbox/{alert.pk}/",
        {"status": "contacted", "assignee": client.user.pk, "note": "Called, offered a call"},
    )
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.status == "contacted" and alert.assignee == client.user
    assert "Called, offered a call" in alert.notes
    change = AlertChange.objects.get(alert=alert)
    assert (change.from_status, change.to_status, change.user) == ("new", "contacted", client.user)


def test_bad_input_is_shown_not_a_500(workspace, alert) -> None:
    client = member(workspace, Role.SUPPORT)
    response = client.post(f"/app/{workspace.slug}/inbox/{alert.pk}/", {"status": "exploded"})
    assert response.status_code == 400
    alert.refresh_from_db()
    assert alert.status == "new" and not AlertChange.objects.exists()


def test_analysts_neither_read_nor_change(workspace, alert) -> None:
    client = member(workspace, Role.ANALYST)
    assert client.get(f"/app/{workspace.slug}/inbox/").status_code == 403
    assert client.get(f"/app/{workspace.slug}/inbox/{alert.pk}/").status_code == 403
    response = client.post(f"/app/{workspace.slug}/inbox/{alert.pk}/", {"status": "lost"})
    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.status == "new"


def test_another_workspace_cannot_see_the_alert(workspace, other_workspace, alert) -> None:
    client = member(other_workspace, Role.ADMIN)
    assert client.get(f"/app/{workspace.slug}/inbox/").status_code == 404
    assert client.get(f"/app/{other_workspace.slug}/inbox/{alert.pk}/").status_code == 404
