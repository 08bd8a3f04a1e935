"""Gunicorn's settings file (``gunicorn -c config/gunicorn.py``, see Procfile).

Metrics in multiprocess mode (config/metrics.py): at start, the files that
processes no longer running left in ``PROMETHEUS_MULTIPROC_DIR`` are removed
(the directory is created if missing); when a worker exits, its live gauges are
dropped. The logger class keeps session tokens out of the access log and writes
gunicorn's own lines as LOG_FORMAT says (config/access_log.py).
"""

from __future__ import annotations

import os
from typing import Any

logger_class = "config.access_log.RedactingLogger"


def on_starting(server: Any) -> None:
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if path:
        os.makedirs(path, exist_ok=True)
        from config.metrics import stale_files_remove

        stale_files_remove(path)


def child_exit(server: Any, worker: Any) -> None:
    from config.metrics import process_dead

    process_dead(worker.pid)
