"""/livez, /readyz and /healthz: 200 when every check is within its threshold,
503 naming the failing ones (config/health.py, outbound/ops.py)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from config import health
from config.celery import app as celery_app
from config.health import HEARTBEAT_BEAT, HEARTBEAT_WORKER, heartbeat_write
from outbound.models import Delivery, DeliveryStatus, OutboxEvent
from tests.factories import make_session


@pytest.fixture(autouse=True)
def _own_cache_and_fresh_answer(settings: Any) -> Iterator[None]:
    """Each test has a cache of its own (heartbeats) and no cached answer, and
    starts in the embedded mode (no broker, worker or beat to check)."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"health-{uuid.uuid4().hex}",
        }
    }
    health.readiness_forget()
    yield
    health.readiness_forget()


@pytest.fixture
def with_broker(settings: Any) -> Iterator[None]:
    """Not embedded: a broker, a worker and beat are expected. The broker is the
    test's Redis when there is one, else a memory broker that always connects."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    previous = celery_app.conf.broker_url
    if not settings.REDIS_URL:
        celery_app.conf.broker_url = "memory://localhost/"
    yield
    celery_app.conf.broker_url = previous


def readyz(client: Client) -> tuple[int, dict[str, Any]]:
    health.readiness_forget()
    response = client.get("/readyz")
    assert response["Content-Type"] == "application/json"
    return response.status_code, response.json()


@pytest.mark.django_db
def test_livez_checks_nothing(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise AssertionError("livez must not check the database")

    monkeypatch.setattr(health, "check_database", broken)
    response = client.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"ok": True}


@pytest.mark.django_db
def test_embedded_mode_is_ready(client: Client, settings: Any) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    status, body = readyz(client)
    assert status == 200, body
    assert body["ok"] is True and "failing" not in body
    assert set(body["checks"]) == {
        "database",
        "broker",
        "worker",
        "beat",
        "outbox",
        "dead_deliveries",
    }
    for name in ("broker", "worker", "beat"):
        assert body["checks"][name] == {"ok": True, "mode": "embedded"}
    assert body["checks"]["outbox"]["pending"] == 0


@pytest.mark.django_db
def test_ready_with_fresh_heartbeats(client: Client, with_broker: None) -> None:
    heartbeat_write(HEARTBEAT_WORKER)
    heartbeat_write(HEARTBEAT_BEAT)
    status, body = readyz(client)
    assert status == 200, body
    assert body["checks"]["worker"]["ok"] is True
    assert body["checks"]["worker"]["age_seconds"] < body["checks"]["worker"]["max_age_seconds"]
    assert body["checks"]["broker"]["ok"] is True


@pytest.mark.django_db
def test_no_worker_heartbeat_is_503_naming_worker(client: Client, with_broker: None) -> None:
    heartbeat_write(HEARTBEAT_BEAT)
    status, body = readyz(client)
    assert status == 503
    assert body["failing"] == ["worker"]
    assert body["checks"]["worker"]["error"] == "no heartbeat yet"


@pytest.mark.django_db
def test_old_heartbeats_fail_worker_and_beat(
    client: Client, with_broker: None, settings: Any
) -> None:
    settings.HEALTH_WORKER_MAX_AGE_SECONDS = 60
    settings.HEALTH_BEAT_MAX_AGE_SECONDS = 60
    heartbeat_write(HEARTBEAT_WORKER, now=time.time() - 120)
    heartbeat_write(HEARTBEAT_BEAT, now=time.time() - 600)
    status, body = readyz(client)
    assert status == 503
    assert body["failing"] == ["worker", "beat"]
    assert body["checks"]["worker"]["age_seconds"] >= 120
    assert body["checks"]["beat"]["age_seconds"] >= 600


@pytest.mark.django_db
def test_unreachable_broker_is_503_naming_broker(client: Client, settings: Any) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    heartbeat_write(HEARTBEAT_WORKER)
    heartbeat_write(HEARTBEAT_BEAT)
    previous = celery_app.conf.broker_url
    celery_app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        status, body = readyz(client)
    finally:
        celery_app.conf.broker_url = previous
    assert status == 503
    assert body["failing"] == ["broker"]
    assert body["checks"]["broker"]["ok"] is False
    assert "127.0.0.1:1" not in str(body)  # the error's class only, no URL


@pytest.mark.django_db
def test_old_outbox_event_is_503_naming_outbox(client: Client, workspace, settings) -> None:
    settings.HEALTH_OUTBOX_MAX_AGE_SECONDS = 300
    session = make_session(workspace)
    OutboxEvent.objects.create(
        workspace=workspace,
        subject_id=session.pk,
        event_type="session.completed",
        payload={},
        created_at=timezone.now() - timedelta(minutes=10),
    )
    status, body = readyz(client)
    assert status == 503
    assert body["failing"] == ["outbox"]
    assert body["checks"]["outbox"]["pending"] == 1
    assert body["checks"]["outbox"]["oldest_pending_age_seconds"] >= 600


@pytest.mark.django_db
def test_too_many_pending_is_503_naming_outbox(client: Client, workspace, settings) -> None:
    settings.HEALTH_OUTBOX_MAX_PENDING = 1
    session = make_session(workspace)
    for _ in range(2):
        OutboxEvent.objects.create(
            workspace=workspace,
            subject_id=session.pk,
            event_type="session.completed",
            payload={},
            created_at=timezone.now(),
        )
    status, body = readyz(client)
    assert status == 503
    assert body["failing"] == ["outbox"]
    assert body["checks"]["outbox"]["pending"] == 2


@pytest.mark.django_db
def test_dead_deliveries_over_the_limit_are_503(client: Client, workspace, settings) -> None:
    settings.HEALTH_DEAD_DELIVERIES_MAX = 0
    session = make_session(workspace)
    now = timezone.now()
    event = OutboxEvent.objects.create(
        workspace=workspace,
        subject_id=session.pk,
        event_type="session.completed",
        payload={},
        created_at=now,
        dispatched_at=now,
    )
    Delivery.objects.create(
        workspace=workspace,
        event=event,
        kind="endpoint",
        status=DeliveryStatus.DEAD,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    status, body = readyz(client)
    assert status == 503
    assert body["failing"] == ["dead_deliveries"]
    assert body["checks"]["dead_deliveries"]["last_hour"] == 1


@pytest.mark.django_db
def test_a_check_that_raises_fails_by_name(client: Client, monkeypatch) -> None:
    def down() -> dict[str, Any]:
        raise ConnectionError("db.internal:5432 refused (password=hunter2)")

    monkeypatch.setitem(health._BUILT_IN, "database", down)
    status, body = readyz(client)
    assert status == 503
    assert body["failing"] == ["database"]
    assert body["checks"]["database"] == {"ok": False, "error": "ConnectionError"}
    assert "hunter2" not in str(body)


@pytest.mark.django_db
def test_the_answer_is_cached_for_a_few_seconds(client: Client, settings, monkeypatch) -> None:
    settings.HEALTH_CACHE_SECONDS = 60
    settings.CELERY_TASK_ALWAYS_EAGER = True
    calls = []
    monkeypatch.setitem(health._BUILT_IN, "database", lambda: calls.append(1) or {"ok": True})
    for _ in range(5):
        assert client.get("/readyz").status_code == 200
    assert calls == [1]
    settings.HEALTH_CACHE_SECONDS = 0
    client.get("/readyz")
    assert calls == [1, 1]


@pytest.mark.django_db
def test_healthz_still_checks_the_database(client: Client, monkeypatch) -> None:
    assert client.get("/healthz").json() == {"ok": True}

    def down() -> None:
        raise ConnectionError("down")

    monkeypatch.setattr(health, "check_database", down)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"ok": False, "error": "ConnectionError"}


def test_probes_are_not_redirected_to_https(settings: Any, client: Client) -> None:
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/livez").status_code == 200
