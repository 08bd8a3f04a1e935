import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun

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
