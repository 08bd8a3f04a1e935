"""GET and PATCH /api/v1/workspace: an API key reads and changes its own
workspace's settings, never another's, and never sees a secret."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import UserFactory
from workspaces.models import Role, Workspace
from workspaces.services import membership_add

URL = "/api/v1/workspace"


def test_get_returns_the_settings_without_secrets(api: APIClient, workspace: Workspace) -> None:
    workspace.stripe_secret_key = "sk_test_secretpart0123456789"
    workspace.save()

    response = api.get(URL)

    assert response.status_code == 200
    data = response.json()
    assert data["public_id"] == workspace.public_id
    assert data["name"] == "Acme Cloud"
    assert data["allowed_origins"] == []
    assert {"time_zone", "default_locale", "currency"} <= set(data)
    text = response.content.decode()
    assert workspace.identity_secret not in text
    assert "secretpart" not in text
    assert not {"identity_secret", "stripe_secret_key", "id"} & set(data)


def test_patch_sets_normalised_origins(
    api: APIClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    response = api.patch(
        URL,
        {"allowed_origins": ["https://App.Example.com/", "http://localhost:8000"]},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["allowed_origins"] == [
        "https://app.example.com",
        "http://localhost:8000",
    ]
    workspace.refresh_from_db()
    assert workspace.allowed_origins == ["https://app.example.com", "http://localhost:8000"]
    other_workspace.refresh_from_db()
    assert other_workspace.allowed_origins == []
    assert api.get(URL).json()["allowed_origins"] == workspace.allowed_origins


def test_patch_with_an_empty_list_clears_them(api: APIClient, workspace: Workspace) -> None:
    api.patch(URL, {"allowed_origins": ["https://app.example.com"]}, format="json")
    response = api.patch(URL, {"allowed_origins": []}, format="json")
    assert response.status_code == 200
    workspace.refresh_from_db()
    assert workspace.allowed_origins == []


def test_bad_origins_are_named_by_index(api: APIClient, workspace: Workspace) -> None:
    response = api.patch(
        URL,
        {
            "allowed_origins": [
                "https://app.example.com",
                "https://app.example.com/account",
                "app.example.com",
            ]
        },
        format="json",
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert set(error["fields"]["allowed_origins"]) == {"1", "2"}
    workspace.refresh_from_db()
    assert workspace.allowed_origins == []


@pytest.mark.parametrize(
    "body",
    [
        {"allowed_origins": "https://app.example.com"},
        {"allowed_origins": [None]},
        {"allowed_origins": ["https://a.example.com"] * 51},
    ],
)
def test_malformed_origin_lists_are_400(api: APIClient, body: dict[str, Any]) -> None:
    response = api.patch(URL, body, format="json")
    assert response.status_code == 400
    assert "allowed_origins" in response.json()["error"]["fields"]


@pytest.mark.parametrize("key", ["name", "public_id", "identity_secret", "colour"])
def test_other_keys_are_refused_by_name(api: APIClient, workspace: Workspace, key: str) -> None:
    response = api.patch(URL, {key: "ws_x", "allowed_origins": []}, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [key]
    refreshed = Workspace.objects.get(pk=workspace.pk)
    assert (refreshed.name, refreshed.public_id) == (workspace.name, workspace.public_id)


def test_without_an_api_key_it_is_401(anon_api: APIClient, workspace: Workspace) -> None:
    assert anon_api.get(URL).status_code == 401
    response = anon_api.patch(URL, {"allowed_origins": ["https://x.example"]}, format="json")
    assert response.status_code == 401
    workspace.refresh_from_db()
    assert workspace.allowed_origins == []


# --- the admin ------------------------------------------------------------------------


def _admin_change(client: Client, workspace: Workspace, origins: str) -> Any:
    data = {
        "name": workspace.name,
        "slug": workspace.slug,
        "time_zone": workspace.time_zone,
        "default_locale": workspace.default_locale,
        "currency": workspace.currency,
        "offer_cooldown_days": workspace.offer_cooldown_days,
        "allowed_origins": origins,
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    return client.post(f"/admin/workspaces/workspace/{workspace.pk}/change/", data)


@pytest.fixture
def admin_client(workspace: Workspace) -> Client:
    user = UserFactory()
    membership_add(workspace=workspace, user=user, role=Role.ADMIN)
    client = Client()
    client.force_login(user)
    return client


def test_the_admin_edits_origins_one_a_line(admin_client: Client, workspace: Workspace) -> None:
    response = _admin_change(
        admin_client, workspace, "https://App.Example.com\n\nhttp://localhost:8000/\n"
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    workspace.refresh_from_db()
    assert workspace.allowed_origins == ["https://app.example.com", "http://localhost:8000"]
    page = admin_client.get(f"/admin/workspaces/workspace/{workspace.pk}/change/")
    assert "https://app.example.com\nhttp://localhost:8000</textarea>" in page.content.decode()


def test_the_admin_names_the_bad_line(admin_client: Client, workspace: Workspace) -> None:
    response = _admin_change(admin_client, workspace, "https://app.example.com\nnot an origin")
    assert response.status_code == 200
    assert "Line 2 (not an origin)" in response.content.decode()
    workspace.refresh_from_db()
    assert workspace.allowed_origins == []
