from __future__ import annotations

from django.test import Client

from tests.factories import UserFactory
from workspaces.models import Role
from workspaces.services import membership_add


def test_signing_in_lands_on_the_members_workspaces(workspace, other_workspace) -> None:
    user = UserFactory(username="ana")
    membership_add(workspace=workspace, user=user, role=Role.ANALYST)
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": "ana", "password": "pw-for-tests-1"}, follow=True
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Acme Cloud" in page and "Globex" not in page


def test_a_bad_password_is_refused_with_a_message(workspace) -> None:
    UserFactory(username="ana")
    response = Client().post("/accounts/login/", {"username": "ana", "password": "nope"})
    assert response.status_code == 200
    assert "did not match" in response.content.decode()


def test_another_workspace_is_a_404_and_anonymous_users_sign_in_first(
    workspace, other_workspace
) -> None:
    user = UserFactory()
    membership_add(workspace=workspace, user=user, role=Role.SUPPORT)
    client = Client()
    assert client.get("/app/acme/").status_code == 302  # to the sign-in page
    client.force_login(user)
    assert client.get("/app/acme/connect/").status_code == 200
    # Support lands in its inbox rather than on the analysts' dashboard.
    assert client.get("/app/acme/")["Location"] == "/app/acme/inbox/"
    assert client.get("/app/globex/").status_code == 404
    assert client.get("/app/no-such-workspace/").status_code == 404
