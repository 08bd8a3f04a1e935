"""Running it in production, with real processes: Celery on RabbitMQ, request ids
reaching a real worker's log lines, and two beat processes of which one sends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from django.conf import settings
from django.test import Client
from django.utils import timezone

from surveys.models import CancelSession, SessionStatus
from tests.factories import make_api_key, make_session, make_workspace
from tests.integration.conftest import ROOT, WorkerProcess, wait_for, worker_env

RABBITMQ_URL = os.environ.get("RABBITMQ_URL", "")


def rabbitmq_missing() -> str:
    """Why the RabbitMQ tests cannot run here, or "". They skip then, like every
    integration test without its service; .ci/run sets RABBITMQ_URL and
    REQUIRE_FULL_SUITE, under which a skip fails the run (tests/conftest.py), so
    in CI a RabbitMQ that is missing or down is a red build, never a silent pass."""
    if not RABBITMQ_URL:
        return "needs RABBITMQ_URL=amqp://… (CI sets it; see README)"
    from kombu import Connection

    try:
        with Connection(RABBITMQ_URL, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=0)
    except Exception as exc:
        return f"RabbitMQ at RABBITMQ_URL does not answer ({type(exc).__name__})"
    return ""


def task_lines(worker: WorkerProcess) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for line in worker.log_text().splitlines()
        if line.startswith("{") and '"cancelflow.task"' in line
    ]


def test_a_real_worker_on_rabbitmq(transactional_db: None) -> None:
    missing = rabbitmq_missing()
    if missing:
        pytest.skip(missing)
    queue = f"test-rabbit-{uuid.uuid4().hex[:12]}"
    workspace = make_workspace()
    stale = make_session(workspace)
    CancelSession.objects.filter(pk=stale.pk).update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    worker = WorkerProcess(
        "-Q", queue, env=worker_env(CELERY_BROKER_URL=RABBITMQ_URL, CELERY_QUEUE=queue)
    )
    worker.start()
    producer = Celery(broker=RABBITMQ_URL, set_as_current=False)
    try:
        producer.send_task(
            "surveys.tasks.sessions_abandon_stale",
            queue=queue,
            headers={"request_id": "req-rabbit-1"},
        )

        def abandoned() -> bool:
            stale.refresh_from_db()
            return stale.status == SessionStatus.ABANDONED

        wait_for(abandoned)
        lines = wait_for(lambda: task_lines(worker), timeout=10)
        assert lines[0]["task"] == "surveys.tasks.sessions_abandon_stale"
        assert lines[0]["state"] == "SUCCESS"
        assert lines[0]["request_id"] == "req-rabbit-1"
        assert "amqp://" in worker.log_text()  # the banner names the transport
    finally:
        worker.stop()
        with producer.connection_for_write() as connection:
            connection.default_channel.queue_delete(queue)
        producer.close()


def test_readyz_reaches_rabbitmq(transactional_db: None) -> None:
    missing = rabbitmq_missing()
    if missing:
        pytest.skip(missing)
    from config.celery import app
    from config.health import check_broker

    previous = app.conf.broker_url
    app.conf.broker_url = RABBITMQ_URL
    try:
        assert check_broker() == {"ok": True, "transport": "amqp"}
    finally:
        app.conf.broker_url = previous


def test_a_request_id_reaches_the_tasks_the_request_queued(celery_worker_process) -> None:
    workspace = make_workspace()
    api_key = make_api_key(workspace)
    client = Client()
    opened = client.post(
        "/api/v1/sessions",
        {
            "customer": {"id": "cus_rid", "email": "rid@example.com"},
            "subscription": {"id": "sub_rid", "plan": "Pro", "mrr_cents": 900},
        },
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api_key}",
    )
    assert opened.status_code == 201
    token = opened.json()["token"]
    cancelled = client.post(f"/api/v1/flow/{token}/cancel", HTTP_X_REQUEST_ID="req-cancel-42")
    assert cancelled.status_code == 200
    assert cancelled["X-Request-ID"] == "req-cancel-42"

    def dispatched() -> list[dict[str, Any]]:
        return [
            line
            for line in task_lines(celery_worker_process)
            if line["task"] == "alerts.tasks.outbox_dispatch"
        ]

    (line,) = wait_for(dispatched)
    assert line["request_id"] == "req-cancel-42"
    assert line["state"] == "SUCCESS"
    assert token not in celery_worker_process.log_text()


# --- Two beat processes ---------------------------------------------------------------


def beat(tmp_path: Path, name: str, queue: str) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp_path / f"{name}.log"
    env = worker_env(
        CELERY_QUEUE=queue,
        DELIVERY_SWEEP_INTERVAL_SECONDS="1",
        BEAT_LOCK_SECONDS="3",
        STATE_DIR=str(tmp_path / name),
        LOG_LEVEL="INFO",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return process, log


def sweeps_sent(client: redis.Redis, queue: str) -> list[str]:
    """The producer (``origin``: ``gen<pid>@host``) of each sweeper task queued."""
    found = []
    for raw in client.lrange(queue, 0, -1):
        message = json.loads(raw)
        headers = message.get("headers") or {}
        if headers.get("task") == "outbound.tasks.deliveries_sweep":
            found.append(headers["origin"].split("@")[0].removeprefix("gen"))
    return found


def test_two_beats_send_the_periodic_tasks_once(tmp_path: Path) -> None:
    """Both beats run the same schedule (the sweeper every second here); only the
    one holding the lease sends. When it dies, the other takes over once the
    lease runs out. (tests/test_beat.py shows the same for every entry.)"""
    queue = f"test-beat-{uuid.uuid4().hex[:12]}"
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    first, first_log = beat(tmp_path, "beat1", queue)
    second, second_log = beat(tmp_path, "beat2", queue)
    processes = {str(first.pid): first, str(second.pid): second}
    try:
        wait_for(lambda: len(sweeps_sent(client, queue)) >= 4, timeout=60)
        origins = set(sweeps_sent(client, queue))
        assert len(origins) == 1, f"both beats sent the sweeper: {origins}"
        (leader_pid,) = origins
        assert leader_pid in processes
        # Whatever else was due came from the leader alone too.
        for raw in client.lrange(queue, 0, -1):
            headers = json.loads(raw).get("headers") or {}
            assert headers["origin"].split("@")[0].removeprefix("gen") == leader_pid

        leader = processes.pop(leader_pid)
        leader.send_signal(signal.SIGKILL)
        leader.wait(10)
        (standby_pid,) = processes
        wait_for(lambda: standby_pid in sweeps_sent(client, queue), timeout=60)
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.terminate()
                process.wait(15)
        client.delete(queue)
        client.close()
    leading = [
        log.name
        for log in (first_log, second_log)
        if '"beat ' in log.read_text() and "leading" in log.read_text()
    ]
    assert len(leading) == 2  # one after the other
    assert not list(ROOT.glob("celerybeat-schedule*"))  # the schedule lives in STATE_DIR
    assert list((tmp_path / "beat1").glob("celerybeat-schedule*"))


def test_the_lease_is_exclusive(transactional_db: None) -> None:
    from django.core.cache import cache

    from config.beat import LOCK_KEY, lease_release, lease_take

    cache.delete(LOCK_KEY)
    try:
        assert lease_take("a", 5)
        assert not lease_take("b", 5)
        assert lease_take("a", 5)  # renewing
        lease_release("b")  # not b's to release
        assert not lease_take("b", 5)
        lease_release("a")
        assert lease_take("b", 5)
        assert not lease_take("a", 5)
    finally:
        cache.delete(LOCK_KEY)
