"""Roles hold: who gets into /admin/, what they may change there, and member_add."""

from __future__ import annotations

import importlib
import io
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from alerts.models import RoutingRule
from config.errors import ServiceError
from tests.alerts.conftest import make_rule, make_team
from tests.factories import UserFactory, make_offer
from workspaces.models import ApiKey, Membership, Role, Workspace
from workspaces.services import (
    membership_remove,
    membership_set_role,
    user_create,
    workspace_delete,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quick_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def member(workspace: Workspace, role: str, **kwargs: Any) -> User:
    user = UserFactory(**kwargs)
    membership_set_role(workspace=workspace, user=user, role=role)
    user.refresh_from_db()
    return user


def apikey_form(workspace: Workspace) -> dict[str, Any]:
    return {"workspace": workspace.pk, "name": "mine"}


# --- is_staff follows the roles ----------------------------------------------------


def test_only_admins_are_staff_and_the_flag_follows_every_change(workspace, other_workspace):
    user = user_create(username="ana", password="a-long-passphrase")
    assert not user.is_staff
    membership_set_role(workspace=workspace, user=user, role=Role.SUPPORT)
    assert not User.objects.get(pk=user.pk).is_staff
    membership_set_role(workspace=workspace, user=user, role=Role.ADMIN)
    assert User.objects.get(pk=user.pk).is_staff
    membership_set_role(workspace=other_workspace, user=user, role=Role.ADMIN)
    membership_remove(membership=Membership.objects.get(user=user, workspace=workspace))
    assert User.objects.get(pk=user.pk).is_staff  # still an admin of the other one
    workspace_delete(workspace=other_workspace)
    assert not User.objects.get(pk=user.pk).is_staff


def test_a_staff_flag_left_behind_opens_nothing(workspace) -> None:
    # Users made before roles held were all staff; the site checks the role too.
    support = member(workspace, Role.SUPPORT)
    User.objects.filter(pk=support.pk).update(is_staff=True)
    client = signed_in(support)
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
    response = client.post("/admin/workspaces/apikey/add/", apikey_form(workspace))
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert not ApiKey.objects.exists()


def test_the_migration_brings_existing_users_in_line(workspace) -> None:
    staff_support = member(workspace, Role.SUPPORT)
    plain_admin = member(workspace, Role.ADMIN)
    superuser = UserFactory(is_superuser=True)
    User.objects.filter(pk=staff_support.pk).update(is_staff=True)
    User.objects.filter(pk__in=[plain_admin.pk, superuser.pk]).update(is_staff=False)

    migration = importlib.import_module("workspaces.migrations.0007_staff_follows_roles")
    migration.staff_follows_roles(apps, None)

    staff = dict(User.objects.values_list("username", "is_staff"))
    assert staff[staff_support.username] is False
    assert staff[plain_admin.username] is True and staff[superuser.username] is True


# --- what a support member tried ---------------------------------------------------


def test_a_support_member_cannot_mint_an_api_key_or_make_itself_admin(workspace) -> None:
    # Made the way the product makes members (user_create used to make everyone staff).
    support = user_create(username="sam", password="a-long-passphrase")
    membership_set_role(workspace=workspace, user=support, role=Role.SUPPORT)
    client = signed_in(support)
    own = Membership.objects.get(user=support)

    minted = client.post("/admin/workspaces/apikey/add/", apikey_form(workspace))
    promoted = client.post(f"/admin/workspaces/membership/{own.pk}/change/", {"role": Role.ADMIN})

    for response in (minted, promoted):
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert not ApiKey.objects.exists()
    own.refresh_from_db()
    assert own.role == Role.SUPPORT
    with pytest.raises(ServiceError) as refused:
        membership_set_role(workspace=workspace, user=support, role=Role.ADMIN, actor=support)
    assert refused.value.status_code == 403


def test_an_admin_cannot_change_or_remove_its_own_membership(workspace) -> None:
    admin_user = member(workspace, Role.ADMIN)
    colleague = member(workspace, Role.ADMIN)
    own = Membership.objects.get(user=admin_user)
    client = signed_in(admin_user)

    assert client.get(f"/admin/workspaces/membership/{own.pk}/change/").status_code == 200
    demoted = client.post(f"/admin/workspaces/membership/{own.pk}/change/", {"role": "support"})
    assert demoted.status_code == 403
    assert (
        client.post(f"/admin/workspaces/membership/{own.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    bulk = client.post(
        "/admin/workspaces/membership/",
        {"action": "delete_selected", "_selected_action": [own.pk], "post": "yes"},
    )
    assert bulk.status_code == 403
    own.refresh_from_db()
    assert own.role == Role.ADMIN

    # Another admin may: the demoted user loses /admin/ at once.
    theirs = Membership.objects.get(user=colleague)
    response = client.post(
        f"/admin/workspaces/membership/{theirs.pk}/change/", {"role": Role.ANALYST}
    )
    assert response.status_code == 302
    colleague.refresh_from_db()
    assert not colleague.is_staff
    assert signed_in(colleague).get("/admin/")["Location"].startswith("/admin/login/")


def test_an_admin_adds_a_colleague_and_the_colleague_reaches_the_admin(
    workspace, other_workspace
) -> None:
    admin_user = member(workspace, Role.ADMIN)
    analyst = member(workspace, Role.ANALYST)
    membership_set_role(workspace=other_workspace, user=admin_user, role=Role.ADMIN)
    client = signed_in(admin_user)

    response = client.post(
        "/admin/workspaces/membership/add/",
        {"workspace": other_workspace.pk, "user": analyst.pk, "role": Role.ADMIN},
    )

    assert response.status_code == 302, response.content.decode()[:500]
    analyst.refresh_from_db()
    assert analyst.is_staff
    assert signed_in(analyst).get("/admin/").status_code == 200


# --- what an admin of one workspace sees of another --------------------------------


def test_the_membership_form_lists_only_own_workspaces_and_their_members(
    workspace, other_workspace
) -> None:
    admin_user = member(workspace, Role.ADMIN, username="boss")
    member(workspace, Role.SUPPORT, username="acme-helper")
    member(other_workspace, Role.ADMIN, username="globex-boss")
    stranger = UserFactory(username="no-workspace-at-all")
    membership_set_role(workspace=other_workspace, user=admin_user, role=Role.ANALYST)
    client = signed_in(admin_user)

    form = client.get("/admin/workspaces/membership/add/").content.decode()

    assert "acme-helper" in form and "Acme Cloud" in form
    assert "globex-boss" not in form and "no-workspace-at-all" not in form
    assert "Globex" not in form
    refused = client.post(
        "/admin/workspaces/membership/add/",
        {"workspace": workspace.pk, "user": stranger.pk, "role": Role.ADMIN},
    )
    assert refused.status_code == 200  # the form again, with the error
    foreign = client.post(
        "/admin/workspaces/membership/add/",
        {"workspace": other_workspace.pk, "user": admin_user.pk, "role": Role.ADMIN},
    )
    assert foreign.status_code == 200
    assert not Membership.objects.filter(user=stranger).exists()
    assert Membership.objects.get(user=admin_user, workspace=other_workspace).role == "analyst"


def test_list_filters_name_only_own_workspaces_and_teams(workspace, other_workspace) -> None:
    admin_user = member(workspace, Role.ADMIN)
    membership_set_role(workspace=other_workspace, user=admin_user, role=Role.ANALYST)
    make_offer(workspace)
    make_offer(other_workspace)
    make_rule(workspace, make_team(workspace, "Acme success"))
    make_rule(other_workspace, make_team(other_workspace, "Globex retention"))
    client = signed_in(admin_user)

    offers = client.get("/admin/offers/offer/").content.decode()
    rules = client.get("/admin/alerts/routingrule/").content.decode()
    memberships = client.get("/admin/workspaces/membership/").content.decode()

    assert "Acme Cloud" in offers and "Globex" not in offers
    assert "Acme success" in rules and "Globex" not in rules
    assert "Globex" not in memberships
    assert RoutingRule.objects.count() == 2
    # A superuser still filters by every workspace.
    everything = signed_in(UserFactory(is_superuser=True, is_staff=True))
    assert "Globex" in everything.get("/admin/offers/offer/").content.decode()


def test_an_admin_cannot_move_a_row_into_a_workspace_it_does_not_administer(
    workspace, other_workspace
) -> None:
    admin_user = member(workspace, Role.ADMIN)
    membership_set_role(workspace=other_workspace, user=admin_user, role=Role.ANALYST)
    team = make_team(workspace, "Acme success")
    client = signed_in(admin_user)
    response = client.post(
        f"/admin/alerts/team/{team.pk}/change/",
        {"workspace": other_workspace.pk, "name": "Moved", "locale": "en",
         "channels-TOTAL_FORMS": "0", "channels-INITIAL_FORMS": "0"},
    )  # fmt: skip
    assert response.status_code == 200  # the form again: not a valid choice
    team.refresh_from_db()
    assert (team.workspace_id, team.name) == (workspace.pk, "Acme success")


def test_autocompletes_offer_only_own_workspaces(workspace, other_workspace) -> None:
    admin_user = member(workspace, Role.ADMIN)
    membership_set_role(workspace=other_workspace, user=admin_user, role=Role.ANALYST)
    client = signed_in(admin_user)
    base = "/admin/autocomplete/?app_label=workspaces&model_name=apikey&field_name=workspace"

    found = client.get(base + "&term=").json()
    users = client.get(
        "/admin/autocomplete/?app_label=workspaces&model_name=membership&field_name=user&term="
    )

    assert [row["text"] for row in found["results"]] == ["Acme Cloud"]
    assert users.status_code == 403  # accounts are a superuser's


def test_a_workspace_admin_cannot_delete_the_workspace(workspace) -> None:
    admin_user = member(workspace, Role.ADMIN)
    client = signed_in(admin_user)
    response = client.post(f"/admin/workspaces/workspace/{workspace.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert Workspace.objects.filter(pk=workspace.pk).exists()


# --- member_add --------------------------------------------------------------------


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("member_add", *args, stdout=out)
    return out.getvalue()


def test_member_add_creates_then_updates_then_changes_the_role(workspace) -> None:
    said = run(
        "--workspace=acme", "--username=Ana", "--password=a-long-passphrase",
        "--role=admin", "--email=ana@example.com",
    )  # fmt: skip
    ana = User.objects.get(username="Ana")
    assert "Created user Ana" in said and "added Ana to acme as admin" in said
    assert ana.check_password("a-long-passphrase") and ana.email == "ana@example.com"
    assert ana.is_staff
    assert Client().login(username="Ana", password="a-long-passphrase")

    said = run("--workspace=acme", "--username=Ana", "--password=another-passphrase",
               "--role=support")  # fmt: skip
    ana.refresh_from_db()
    assert "Updated the password of Ana" in said
    assert "from admin to support" in said and "cannot open /admin/" in said
    assert ana.check_password("another-passphrase") and not ana.is_staff
    assert Membership.objects.get(user=ana, workspace=workspace).role == "support"

    said = run("--workspace=acme", "--username=Ana", "--role=support")
    assert "Ana was already support in acme" in said
    assert User.objects.get(username="Ana").check_password("another-passphrase")


def test_member_add_takes_the_password_from_the_environment(workspace, monkeypatch) -> None:
    monkeypatch.setenv("MEMBER_PASSWORD", "from-the-environment")
    run("--workspace=acme", "--username=bo", "--role=analyst")
    assert User.objects.get(username="bo").check_password("from-the-environment")


GOOD = "a-long-passphrase"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--workspace=nope", "--role=admin", f"--password={GOOD}"],
            "No workspace 'nope'. Known: acme",
        ),
        (["--workspace=acme", "--role=owner", f"--password={GOOD}"], "Unknown role 'owner'"),
        (["--workspace=acme", "--role=admin", "--password=abc"], "Password refused"),
    ],
)
def test_member_add_says_what_is_wrong(workspace, args, message) -> None:
    with pytest.raises(CommandError, match=message):
        run("--username=cy", *args)
    assert not User.objects.filter(username="cy").exists()


def test_member_add_needs_a_password_for_a_new_user(workspace, monkeypatch) -> None:
    monkeypatch.delenv("MEMBER_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO())
    with pytest.raises(CommandError, match="needs a password"):
        run("--workspace=acme", "--username=dee", "--role=admin")
    assert not User.objects.filter(username="dee").exists()


def test_each_role_is_shown_only_the_links_it_may_follow(workspace) -> None:
    def links(role: str, path: str) -> set[str]:
        page = signed_in(member(workspace, role)).get(path).content.decode()
        wanted = {"/admin/", "/app/acme/inbox/", "/app/acme/words/", "/app/acme/experiments/"}
        return {link for link in wanted if f'href="{link}"' in page}

    assert links(Role.ADMIN, "/app/acme/") == {
        "/admin/", "/app/acme/inbox/", "/app/acme/words/", "/app/acme/experiments/"
    }  # fmt: skip
    assert links(Role.ANALYST, "/app/acme/") == {"/app/acme/words/", "/app/acme/experiments/"}
    assert links(Role.SUPPORT, "/app/acme/inbox/") == {"/app/acme/inbox/"}
