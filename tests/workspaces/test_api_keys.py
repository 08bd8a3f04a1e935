from __future__ import annotations

from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import make_session
from workspaces.models import ApiKey
from workspaces.services import api_key_issue, api_key_revoke


def test_no_key_is_401_with_json_error(anon_api: APIClient, db: None) -> None:
    response = anon_api.get("/api/v1/sessions")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_wrong_key_is_401(anon_api: APIClient, db: None) -> None:
    anon_api.credentials(HTTP_AUTHORIZATION="Bearer cfk_nope")
    response = anon_api.get("/api/v1/sessions")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_wrong_scheme_is_401(anon_api: APIClient, db: None) -> None:
    anon_api.credentials(HTTP_AUTHORIZATION="Basic abc")
    assert anon_api.get("/api/v1/sessions").status_code == 401


def test_key_is_stored_hashed_and_records_use(workspace) -> None:
    issued = api_key_issue(workspace=workspace, name="server")
    stored = ApiKey.objects.get(pk=issued.api_key.pk)
    assert issued.raw_key not in (stored.key_hash, stored.prefix)
    assert issued.raw_key.startswith(stored.prefix)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw_key}")
    assert client.get("/api/v1/sessions").status_code == 200
    stored.refresh_from_db()
    assert stored.last_used_at is not None
    assert (timezone.now() - stored.last_used_at).total_seconds() < 60


def test_revoked_key_is_refused(workspace) -> None:
    issued = api_key_issue(workspace=workspace, name="server")
    api_key_revoke(api_key=issued.api_key)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw_key}")
    response = client.get("/api/v1/sessions")
    assert response.status_code == 401


def test_another_workspaces_session_is_404(api: APIClient, other_workspace) -> None:
    foreign = make_session(other_workspace)
    response = api.get(f"/api/v1/sessions/{foreign.pk}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    listed = api.get("/api/v1/sessions").json()["results"]
    assert all(item["id"] != str(foreign.pk) for item in listed)


def test_unknown_api_path_is_json_404(api: APIClient) -> None:
    response = api.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
