"""With allowed origins set, a session's return_url must be on one of them, on the
server API and the widget alike; with none set any http(s) return_url is kept."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from surveys.models import CancelSession
from workspaces.identity import widget_identity_sign
from workspaces.models import Workspace
from workspaces.services import workspace_update

ORIGINS = ["https://app.example.com", "http://localhost:8000"]


def _body(return_url: str) -> dict[str, Any]:
    return {
        "customer": {"id": "cus_1", "email": "ada@example.com"},
        "subscription": {"id": "sub_1", "plan": "Pro", "mrr_cents": 4900},
        "return_url": return_url,
    }


def _open_api(api: APIClient, anon_api: APIClient, workspace: Workspace, url: str) -> Any:
    return api.post("/api/v1/sessions", _body(url), format="json")


def _open_widget(api: APIClient, anon_api: APIClient, workspace: Workspace, url: str) -> Any:
    signed = widget_identity_sign(
        workspace=workspace.public_id, secret=workspace.identity_secret, body=_body(url)
    )
    return anon_api.post("/api/v1/widget/sessions", signed, format="json")


OPENERS = pytest.mark.parametrize("open_session", [_open_api, _open_widget], ids=["api", "widget"])


@OPENERS
@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.net/account",
        "http://app.example.com/account",
        "https://app.example.com:8443/account",
        "https://app.example.com.evil.example.net/",
        "https://user@evil.example.net/",
    ],
)
def test_a_return_url_off_the_allowed_origins_is_422(
    api: APIClient, anon_api: APIClient, workspace: Workspace, open_session: Any, url: str
) -> None:
    workspace_update(workspace=workspace, allowed_origins=ORIGINS)

    response = open_session(api, anon_api, workspace, url)

    assert response.status_code == 422, response.json()
    assert response.json()["error"]["code"] == "return_url_not_allowed"
    assert CancelSession.objects.count() == 0


@OPENERS
@pytest.mark.parametrize(
    "url",
    ["https://APP.example.com/account?tab=billing", "http://localhost:8000/back", ""],
)
def test_a_return_url_on_an_allowed_origin_opens(
    api: APIClient, anon_api: APIClient, workspace: Workspace, open_session: Any, url: str
) -> None:
    workspace_update(workspace=workspace, allowed_origins=ORIGINS)

    response = open_session(api, anon_api, workspace, url)

    assert response.status_code == 201, response.json()
    assert CancelSession.objects.get().return_url == url


@OPENERS
def test_without_allowed_origins_any_http_return_url_opens(
    api: APIClient, anon_api: APIClient, workspace: Workspace, open_session: Any
) -> None:
    response = open_session(api, anon_api, workspace, "https://anywhere.example.org/back")
    assert response.status_code == 201, response.json()


def test_another_workspaces_origins_do_not_apply(
    api: APIClient, anon_api: APIClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    workspace_update(workspace=other_workspace, allowed_origins=["https://globex.example"])
    response = _open_api(api, anon_api, workspace, "https://app.example.com/account")
    assert response.status_code == 201
