"""Two beat schedulers, one lease: every periodic task is sent once per period
(config/beat.py). The processes themselves: tests/integration/test_operating.py."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from config.beat import LeaderScheduler
from config.celery import app


class Recording(LeaderScheduler):
    """Sends nothing to a broker: records what it would send."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.sent: list[str] = []
        super().__init__(*args, **kwargs)

    def apply_async(self, entry: Any, producer: Any = None, advance: bool = True, **kw: Any) -> Any:
        self.sent.append(entry.name)
        return self.reserve(entry) if advance else entry


@pytest.fixture(autouse=True)
def _own_cache(settings: Any) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"beat-{uuid.uuid4().hex}",
        }
    }
    settings.STATE_DIR = ""


def scheduler(tmp_path: Path, name: str) -> Recording:
    made = Recording(app=app, schedule_filename=str(tmp_path / name), lazy=False)
    # Everything overdue, as after a long stop: each entry is due at once.
    for entry in made.schedule.values():
        entry.last_run_at = timezone.now() - timedelta(days=8)
    return made


def test_two_schedulers_send_each_periodic_task_once(tmp_path: Path) -> None:
    first, second = scheduler(tmp_path, "one"), scheduler(tmp_path, "two")
    try:
        for _ in range(len(first.schedule) + 2):  # beat sends one due entry a tick
            first.tick()
            second.tick()
        sent = first.sent + second.sent
        for name in ("deliveries-sweep", "sessions-abandon-stale", "digests-send-due"):
            assert sent.count(name) == 1, (name, first.sent, second.sent)
        assert bool(first.sent) != bool(second.sent)  # one of them sent everything
    finally:
        first.close()
        second.close()


def test_the_standby_takes_over_when_the_leader_is_gone(tmp_path: Path) -> None:
    first, second = scheduler(tmp_path, "one"), scheduler(tmp_path, "two")
    first.tick()
    second.tick()
    assert first.leading and not second.leading
    first.close()  # a clean stop gives the lease up at once
    second.tick()
    assert second.leading
    second.close()


def test_the_schedule_file_is_kept_in_the_state_dir(tmp_path: Path, settings: Any) -> None:
    settings.STATE_DIR = str(tmp_path / "state")
    made = LeaderScheduler(app=app, schedule_filename="celerybeat-schedule", lazy=False)
    try:
        assert made.schedule_filename == str(tmp_path / "state" / "celerybeat-schedule")
    finally:
        made.close()
    assert list((tmp_path / "state").glob("celerybeat-schedule*"))
