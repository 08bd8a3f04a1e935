"""Celery beat with one leader: any number of beat processes, one sends.

Two beat processes (a second one started by mistake, or one per machine for
redundancy) would each send every periodic task: the sweeper, the abandon task
and the digest twice per period. ``LeaderScheduler`` (``CELERY_BEAT_SCHEDULER``)
sends only while it holds a lease in the shared cache (Redis): the first beat
takes it with an atomic ``add``, renews it on every tick (at most every
``BEAT_LOCK_SECONDS / 3``), and the others send nothing and look again every few
seconds. When the leader dies, its lease runs out after ``BEAT_LOCK_SECONDS``
and another beat takes over. If the cache cannot be reached, no beat sends
(rather than all of them). The leader also records each tick for ``/readyz``'s
``beat`` check.

The schedule file (when each entry last ran) lives in ``STATE_DIR``, not in the
working directory, unless ``--schedule`` names one.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from pathlib import Path
from typing import Any

from celery.beat import PersistentScheduler
from django.conf import settings
from django.core.cache import cache

from config.health import HEARTBEAT_BEAT, heartbeat_write

LOCK_KEY = "ops:beat:leader"
log = logging.getLogger(__name__)


def lease_take(owner: str, seconds: float) -> bool:
    """Take or renew the leader's lease for ``owner``; False when another holds it
    (or the cache is down)."""
    try:
        if cache.add(LOCK_KEY, owner, timeout=seconds):
            return True
        if cache.get(LOCK_KEY) == owner:
            # Ours: renew. If it ran out between the two calls, add again.
            return bool(cache.touch(LOCK_KEY, timeout=seconds)) or bool(
                cache.add(LOCK_KEY, owner, timeout=seconds)
            )
    except Exception as exc:
        log.warning("beat: the lock's cache is unavailable (%s); sending nothing", exc)
    return False


def lease_release(owner: str) -> None:
    try:
        if cache.get(LOCK_KEY) == owner:
            cache.delete(LOCK_KEY)
    except Exception:
        pass


def default_schedule_file() -> str:
    state = Path(settings.STATE_DIR)
    state.mkdir(parents=True, exist_ok=True)
    return str(state / "celerybeat-schedule")


class LeaderScheduler(PersistentScheduler):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease_seconds = float(settings.BEAT_LOCK_SECONDS)
        self.leading = False
        filename = kwargs.get("schedule_filename")
        if not filename or filename == "celerybeat-schedule":  # Celery's default
            kwargs["schedule_filename"] = default_schedule_file()
        super().__init__(*args, **kwargs)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        leading = lease_take(self.owner, self.lease_seconds)
        if leading != self.leading:
            log.info("beat %s: %s", self.owner, "leading" if leading else "standing by")
            self.leading = leading
        if not leading:
            return min(self.lease_seconds / 3, 5.0)
        heartbeat_write(HEARTBEAT_BEAT, time.time())
        return min(float(super().tick(*args, **kwargs)), self.lease_seconds / 3)

    def close(self) -> None:
        lease_release(self.owner)
        super().close()
