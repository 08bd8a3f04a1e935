"""Pages render with the production static storage even before collectstatic."""

from __future__ import annotations

from typing import Any

from tests.factories import make_session


def test_pages_render_before_collectstatic(client, workspace, settings: Any, tmp_path) -> None:
    settings.STATIC_ROOT = tmp_path  # nothing collected there
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "config.storage.StaticStorage"},
    }
    session = make_session(workspace)
    response = client.get(f"/c/{session.token}/")
    assert response.status_code == 200
    assert "/static/css/flow.css" in response.content.decode()
