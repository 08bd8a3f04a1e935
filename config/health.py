"""Liveness and readiness: ``/livez``, ``/readyz`` (and ``/healthz``, the old name).

``/livez`` answers 200 whenever the process can answer at all: it checks nothing
else, so an orchestrator restarting on its failure restarts only a hung process.

``/readyz`` answers JSON with one entry per check, each ``{"ok": bool, ...}``
with the figure it judged, and 200 when every one is within its threshold
(settings ``HEALTH_*``), else 503 with ``"failing": [names]``:

- ``database``: a ``SELECT 1``;
- ``broker``: a connection to Celery's broker (Redis or RabbitMQ);
- ``worker``: the age of the newest worker heartbeat (``heartbeat_write``: a
  beat-scheduled task every ``HEALTH_HEARTBEAT_SECONDS``, and every task a
  worker finishes);
- ``beat``: the age of the beat leader's last tick (``config.beat``);
- the checks the apps register (``register_check``): alerts adds ``outbox``
  (the oldest pending event's age and the pending count) and
  ``dead_deliveries`` (deliveries that died within the last hour).

In the embedded mode (no broker, tasks run in-process) ``broker``, ``worker``
and ``beat`` report ``"mode": "embedded"`` and pass. The answer is computed at
most once every ``HEALTH_CACHE_SECONDS`` per process, so probes cost nothing and
a slow dependency cannot pile them up.

This module knows no app: the apps register their checks in ``AppConfig.ready``.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, JsonResponse

Result = dict[str, Any]
Check = Callable[[], Result]

HEARTBEAT_WORKER = "ops:heartbeat:worker"
HEARTBEAT_BEAT = "ops:heartbeat:beat"
# Heartbeats outlive their threshold in the cache so a stale one is reported as
# old rather than missing.
_HEARTBEAT_TTL = 24 * 3600

_checks: dict[str, Check] = {}
_cached: tuple[float, int, Result] | None = None
_lock = threading.Lock()


def register_check(name: str, check: Check) -> None:
    """Add ``check`` to /readyz under ``name`` (registering a name again replaces
    it). ``check()`` returns ``{"ok": bool, ...figures}``; raising counts as
    failing, with the exception's class as the error."""
    _checks[name] = check


def embedded() -> bool:
    """Tasks run in-process: no broker, no worker, no beat to check."""
    return bool(settings.CELERY_TASK_ALWAYS_EAGER)


def heartbeat_write(key: str = HEARTBEAT_WORKER, now: float | None = None) -> None:
    """Record that a worker (or beat) is alive now. A cache outage is not fatal."""
    with contextlib.suppress(Exception):  # the cache (Redis) down: readyz will say so
        cache.set(key, now if now is not None else time.time(), _HEARTBEAT_TTL)


def _age_check(key: str, max_age: float) -> Result:
    if embedded():
        return {"ok": True, "mode": "embedded"}
    seen = cache.get(key)
    if seen is None:
        return {"ok": False, "error": "no heartbeat yet", "max_age_seconds": max_age}
    age = round(max(0.0, time.time() - float(seen)), 1)
    return {"ok": age <= max_age, "age_seconds": age, "max_age_seconds": max_age}


def check_database() -> Result:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"ok": True}


def check_broker() -> Result:
    if embedded():
        return {"ok": True, "mode": "embedded"}
    from config.celery import app

    with app.connection_for_write() as connection:
        timeout = max(1, math.ceil(settings.HEALTH_BROKER_TIMEOUT))
        connection.ensure_connection(max_retries=0, timeout=timeout)
        return {"ok": True, "transport": connection.transport_cls}


def check_worker() -> Result:
    return _age_check(HEARTBEAT_WORKER, settings.HEALTH_WORKER_MAX_AGE_SECONDS)


def check_beat() -> Result:
    return _age_check(HEARTBEAT_BEAT, settings.HEALTH_BEAT_MAX_AGE_SECONDS)


_BUILT_IN: dict[str, Check] = {
    "database": check_database,
    "broker": check_broker,
    "worker": check_worker,
    "beat": check_beat,
}


def readiness() -> tuple[int, Result]:
    """(status, body) computed now: every check, built-in first."""
    results: Result = {}
    for name, check in {**_BUILT_IN, **_checks}.items():
        try:
            results[name] = check()
        except Exception as exc:
            # The class only: a message may carry a URL with a password in it.
            results[name] = {"ok": False, "error": type(exc).__name__}
    failing = [name for name, result in results.items() if not result.get("ok")]
    body: Result = {"ok": not failing, "checks": results}
    if failing:
        body["failing"] = failing
    return (503 if failing else 200), body


def readiness_cached() -> tuple[int, Result]:
    global _cached
    now = time.monotonic()
    with _lock:
        if _cached is None or now - _cached[0] >= settings.HEALTH_CACHE_SECONDS:
            status, body = readiness()
            _cached = (time.monotonic(), status, body)
        return _cached[1], _cached[2]


def readiness_forget() -> None:
    """Drop the cached answer (tests)."""
    global _cached
    with _lock:
        _cached = None


def livez(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


def readyz(request: HttpRequest) -> JsonResponse:
    status, body = readiness_cached()
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response


def healthz(request: HttpRequest) -> JsonResponse:
    """The first health URL (database only), kept for load balancers that use it."""
    try:
        check_database()
    except Exception as exc:
        return JsonResponse({"ok": False, "error": type(exc).__name__}, status=503)
    return JsonResponse({"ok": True})
