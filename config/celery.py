import logging
import os
import time
from typing import Any

from celery import Celery
from celery.signals import (
    before_task_publish,
    task_postrun,
    task_prerun,
    worker_process_shutdown,
)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("cancelflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Celery's Django fixup closes every database connection after each task unless
# this is set: a new PostgreSQL connection (and its prepared statements lost) for
# every task, a tenth of the worker's CPU at 50 alerts a second. Tasks keep their
# connection the way web requests do instead: CONN_MAX_AGE and
# CONN_HEALTH_CHECKS decide, before and after each task (below).
app.conf.CELERY_DB_REUSE_MAX = 1_000_000


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(task: Any = None, **kwargs: Any) -> None:
    # An eager task runs inside its caller's request and transaction: not ours to close.
    if task is None or getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


# --- Operating it: request ids, heartbeats, task metrics -------------------------
# A task queued while a request is served carries its request id in a header; the
# worker sets it for the task's log lines (config.logs.REQUEST_ID). Every task a
# worker finishes refreshes the worker heartbeat /readyz reads (config.health),
# as does the beat-scheduled ``config.heartbeat`` when there is no other work;
# each task's run time goes to cancelflow_task_duration_seconds (config.metrics)
# and to one ``cancelflow.task`` log line (name, state, duration, request id).

_task_log = logging.getLogger("cancelflow.task")
_HEARTBEAT_EVERY = 1.0
_last_heartbeat = 0.0
_started: dict[str, tuple[float, Any]] = {}


@before_task_publish.connect
def _request_id_send(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    from config.logs import REQUEST_ID

    request_id = REQUEST_ID.get()
    if headers is not None and request_id != "-":
        headers.setdefault("request_id", request_id)


def _request_id_of(task: Any) -> str | None:
    request = task.request
    found = getattr(request, "request_id", None)
    if not found and isinstance(getattr(request, "headers", None), dict):
        found = request.headers.get("request_id")
    return found if isinstance(found, str) and found else None


@task_prerun.connect
def _task_started(task_id: str = "", task: Any = None, **kwargs: Any) -> None:
    if task is None:
        return
    from config.logs import REQUEST_ID

    token = None
    if not getattr(task.request, "is_eager", False):
        # An eager task runs inside its caller: the caller's request id stays.
        token = REQUEST_ID.set(_request_id_of(task) or f"task-{task_id}")
    _started[task_id] = (time.perf_counter(), token)


@task_postrun.connect
def _task_finished(
    task_id: str = "", task: Any = None, state: str | None = None, **kwargs: Any
) -> None:
    global _last_heartbeat
    started, token = _started.pop(task_id, (None, None))
    if task is None:
        return
    from config.logs import REQUEST_ID
    from config.metrics import TASK_SECONDS

    if started is not None:
        elapsed = time.perf_counter() - started
        TASK_SECONDS.labels(task.name, state or "UNKNOWN").observe(elapsed)
        if token is not None:  # a worker's task (an eager one is its request's)
            _task_log.info(
                "task %s %s",
                task.name,
                state,
                extra={"task": task.name, "state": state, "duration_ms": round(elapsed * 1000, 1)},
            )
    if token is not None:
        REQUEST_ID.reset(token)
    if not getattr(task.request, "is_eager", False) and time.time() - _last_heartbeat >= (
        _HEARTBEAT_EVERY
    ):
        from config.health import heartbeat_write

        _last_heartbeat = time.time()
        heartbeat_write()


@worker_process_shutdown.connect
def _metrics_process_gone(pid: int | None = None, **kwargs: Any) -> None:
    from config.metrics import process_dead

    process_dead(pid or os.getpid())


@app.task(name="config.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Beat-scheduled: a worker is alive and takes tasks (task_postrun records it)."""
