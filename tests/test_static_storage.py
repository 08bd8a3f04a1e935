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


def test_collectstatic_succeeds_with_the_production_storage(settings: Any, tmp_path) -> None:
    """``make run`` collects static files first: every file, vendored ones
    included, must resolve the files it references (a missing source map once
    stopped the demo from starting)."""
    from django.core.management import call_command
    from django.test.utils import override_settings

    with override_settings(
        STATIC_ROOT=tmp_path,
        STORAGES={**settings.STORAGES, "staticfiles": {"BACKEND": "config.storage.StaticStorage"}},
    ):
        call_command("collectstatic", interactive=False, verbosity=0)
    manifest = (tmp_path / "staticfiles.json").read_text()
    assert "vendor/chartjs/chart.umd.js" in manifest
    assert "css/flow.css" in manifest
