"""Shared fixtures, and the rule that CI runs everything.

With ``REQUIRE_FULL_SUITE=1`` (set by .ci/run) a skipped test fails the run:
integration and browser tests must run for real in CI, never quietly skip.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from config.celery import app as celery_app
from tests.factories import make_api_key, make_workspace

REQUIRE_FULL_SUITE = os.environ.get("REQUIRE_FULL_SUITE", "") in ("1", "true", "yes")


@pytest.fixture(autouse=True)
def _tasks_in_process(request: pytest.FixtureRequest) -> Any:
    """Unit tests run Celery tasks in-process; integration tests use a real worker."""
    if request.node.get_closest_marker("integration"):
        yield
        return
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _plain_static_storage(settings: Any) -> None:
    """Tests serve static files without running collectstatic first."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _fresh_throttles(settings: Any) -> None:
    """Each test starts with no throttle counts: its own cache key prefix (the
    cache may be the Redis that Celery shares, so it is never flushed)."""
    settings.THROTTLE_KEY_PREFIX = f"throttle-{uuid.uuid4().hex}"


@pytest.fixture
def workspace(db: None) -> Any:
    return make_workspace(name="Acme Cloud", slug="acme")


@pytest.fixture
def other_workspace(db: None) -> Any:
    return make_workspace(name="Globex", slug="globex")


@pytest.fixture
def api_key(workspace: Any) -> str:
    return make_api_key(workspace)


@pytest.fixture
def api(api_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    return client


@pytest.fixture
def anon_api() -> APIClient:
    return APIClient()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not REQUIRE_FULL_SUITE:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        reporter.write_line(
            f"REQUIRE_FULL_SUITE: {skipped} test(s) were skipped; CI runs everything.", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
