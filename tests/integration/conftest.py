"""Integration tests: real PostgreSQL, real Redis, a real Celery worker process.

They need ``DATABASE_URL`` (postgres://…) and ``REDIS_URL``; without them they are
skipped with the reason (and CI, which sets REQUIRE_FULL_SUITE, then fails).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def services_missing() -> str:
    if not settings.IS_POSTGRES:
        return "integration tests need DATABASE_URL=postgres://… (see README)"
    if not settings.REDIS_URL:
        return "integration tests need REDIS_URL=redis://… (see README)"
    return ""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = services_missing()
    for item in items:
        if "tests/integration/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.integration)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


def worker_env(**extra: str) -> dict[str, str]:
    """Environment for a child process that must use the test database."""
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": (
                f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST'] or '127.0.0.1'}"
                f":{db['PORT'] or 5432}/{db['NAME']}"
            ),
            "REDIS_URL": settings.REDIS_URL,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update(extra)
    return env


class WorkerProcess:
    """A `celery worker` child process; start, kill -9, and start again."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.args = args
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.log = ROOT / "test-results" / f"worker-{os.getpid()}-{time.time_ns()}.log"

    def start(self, timeout: float = 30.0) -> None:
        from celery import Celery

        from config.celery import app as default_app

        env = self.env or {}
        broker = env.get("CELERY_BROKER_URL") or env.get("REDIS_URL")
        app = (
            Celery(broker=broker, set_as_current=False)
            if broker and broker != settings.CELERY_BROKER_URL
            else default_app
        )

        self.log.parent.mkdir(exist_ok=True)
        node = f"test-{os.getpid()}-{time.time_ns()}@localhost"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=INFO",
                "-n",
                node,
                *self.args,
            ],
            cwd=ROOT,
            env=self.env or worker_env(),
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early; see {self.log}")
            replies = app.control.ping(destination=[node], timeout=0.5)
            if replies:
                return
        raise RuntimeError(f"worker did not answer within {timeout}s; see {self.log}")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def celery_worker_process(transactional_db: None) -> Iterator[WorkerProcess]:
    """A running worker bound to this test's database; stopped after the test."""
    from config.celery import app

    app.conf.task_always_eager = False
    worker = WorkerProcess()
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


def wait_for(predicate: Any, timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Poll until ``predicate()`` is truthy; returns its value or fails the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout}s")
