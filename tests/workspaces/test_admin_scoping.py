from __future__ import annotations

from django.test import Client

from tests.factories import UserFactory, make_offer, make_session
from workspaces.models import Role
from workspaces.services import membership_add


def test_admin_shows_only_the_members_workspaces(workspace, other_workspace) -> None:
    user = UserFactory()
    membership_add(workspace=workspace, user=user, role=Role.ADMIN)
    mine = make_session(workspace, customer_id="cus_mine")
    theirs = make_session(other_workspace, customer_id="cus_theirs")
    their_offer = make_offer(other_workspace, name="Their secret offer")
    client = Client()
    client.force_login(user)

    listing = client.get("/admin/surveys/cancelsession/").content.decode()
    assert "cus_mine" in listing and "cus_theirs" not in listing
    assert client.get(f"/admin/surveys/cancelsession/{mine.pk}/change/").status_code == 200
    foreign = client.get(f"/admin/surveys/cancelsession/{theirs.pk}/change/")
    assert foreign.status_code == 302  # Django's admin redirects a missing object away
    assert "Their secret offer" not in client.get("/admin/offers/offer/").content.decode()
    assert client.get(f"/admin/offers/offer/{their_offer.pk}/change/").status_code == 302
    add_form = client.get("/admin/offers/offer/add/").content.decode()
    assert "Globex" not in add_form and "Acme Cloud" in add_form


def test_a_user_without_membership_sees_nothing(workspace) -> None:
    user = UserFactory()
    client = Client()
    client.force_login(user)
    response = client.get("/admin/surveys/cancelsession/")
    assert response.status_code == 302  # to the admin's sign-in page
    assert response["Location"].startswith("/admin/login/")
