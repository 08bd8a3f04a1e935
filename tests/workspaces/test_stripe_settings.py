"""The workspace's Stripe settings in the admin: the key is write-only, never
shown back in full, and Stripe cannot be switched on without one."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.factories import UserFactory
from workspaces.models import Role, Workspace
from workspaces.services import membership_add

KEY = "rk_test_51Hq8Zsecretpart0123456789wxyz"


@pytest.fixture
def admin_client(workspace: Workspace) -> Client:
    user = UserFactory()
    membership_add(workspace=workspace, user=user, role=Role.ADMIN)
    client = Client()
    client.force_login(user)
    return client


def change(client: Client, workspace: Workspace, **fields: Any) -> Any:
    data = {
        "name": workspace.name,
        "slug": workspace.slug,
        "time_zone": workspace.time_zone,
        "default_locale": workspace.default_locale,
        "currency": workspace.currency,
        "offer_cooldown_days": workspace.offer_cooldown_days,
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        **{k: v for k, v in fields.items() if v is not False},
    }
    return client.post(f"/admin/workspaces/workspace/{workspace.pk}/change/", data)


def page(client: Client, workspace: Workspace) -> str:
    return client.get(f"/admin/workspaces/workspace/{workspace.pk}/change/").content.decode()


def test_the_key_is_saved_and_never_shown_back(admin_client, workspace) -> None:
    response = change(admin_client, workspace, stripe_enabled="on", stripe_secret_key=KEY)
    assert response.status_code == 302, response.content.decode()[:2000]
    workspace.refresh_from_db()
    assert workspace.stripe_enabled and workspace.stripe_secret_key == KEY
    shown = page(admin_client, workspace)
    assert KEY not in shown and "secretpart" not in shown
    assert "rk_test_…wxyz" in shown


def test_an_empty_field_keeps_the_key_and_remove_clears_it(admin_client, workspace) -> None:
    change(admin_client, workspace, stripe_enabled="on", stripe_secret_key=KEY)
    assert change(admin_client, workspace, stripe_enabled="on").status_code == 302
    workspace.refresh_from_db()
    assert workspace.stripe_secret_key == KEY
    change(admin_client, workspace, stripe_secret_key_remove="on")
    workspace.refresh_from_db()
    assert workspace.stripe_secret_key == "" and not workspace.stripe_enabled


def test_stripe_cannot_be_enabled_without_a_key(admin_client, workspace) -> None:
    response = change(admin_client, workspace, stripe_enabled="on")
    assert response.status_code == 200
    assert "Applying outcomes in Stripe needs the secret key." in response.content.decode()
    workspace.refresh_from_db()
    assert not workspace.stripe_enabled


def test_a_publishable_key_is_refused(admin_client, workspace) -> None:
    response = change(admin_client, workspace, stripe_secret_key="pk_test_abc123")
    assert "A Stripe secret or restricted key" in response.content.decode()
    workspace.refresh_from_db()
    assert workspace.stripe_secret_key == ""
