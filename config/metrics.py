"""Prometheus metrics at ``/metrics``, every name starting with ``cancelflow_``.

With ``PROMETHEUS_MULTIPROC_DIR`` set (it must be set before the process
starts: the Procfile and Makefile do), every gunicorn worker and every Celery
process writes its counts to files there, and ``/metrics`` adds up the files of
all of them (``prometheus_client``'s multiprocess mode); ``config/gunicorn.py``
and ``config.celery`` tell it when a process is gone. Without it each process
counts alone (fine for a single process).

Counted as it happens (any process):

- ``cancelflow_http_request_duration_seconds{route,method,status}``: a
  histogram of each request's time, by route name (``config.requestlog``);
- ``cancelflow_flow_outcomes_total{outcome}``: sessions ended, by outcome
  (``saved``, ``cancelled``, ``abandoned``; counted after commit);
- ``cancelflow_categorizations_total{result}``: customers' words categorised by
  the categoriser, ``automatic`` or ``review`` (queued for a person): the review
  share is ``review / (automatic + review)``;
- ``cancelflow_task_duration_seconds{task,state}``: a histogram of each Celery
  task's run time (``config.celery``).

Read from the database when scraped (``register_source``; at most once every
``METRICS_DB_CACHE_SECONDS`` per process): alerts adds
``cancelflow_outbox_pending``, ``cancelflow_outbox_oldest_pending_age_seconds``
and ``cancelflow_deliveries{status,kind}``.

``/metrics`` answers 404 unless ``METRICS_TOKEN`` is set, then 401 unless the
request carries ``Authorization: Bearer <METRICS_TOKEN>``.
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REQUEST_SECONDS = Histogram(
    "cancelflow_http_request_duration_seconds",
    "Time to answer a request, by route name.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
FLOW_OUTCOMES = Counter(
    "cancelflow_flow_outcomes", "Cancel sessions ended, by outcome.", ["outcome"]
)
CATEGORIZATIONS = Counter(
    "cancelflow_categorizations",
    "Customers' words categorised: automatic, or queued for review.",
    ["result"],
)
TASK_SECONDS = Histogram(
    "cancelflow_task_duration_seconds",
    "Time a Celery task ran, by task and final state.",
    ["task", "state"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0),
)

log = logging.getLogger(__name__)

# A source yields (name, help, label names, [(label values, value)]) gauges.
Gauge = tuple[str, str, list[str], list[tuple[list[str], float]]]
Source = Callable[[], Iterable[Gauge]]
_sources: dict[str, Source] = {}
_db_cache: tuple[float, list[Gauge]] | None = None
_db_lock = threading.Lock()


def register_source(name: str, source: Source) -> None:
    """Add gauges read when /metrics is scraped (registering again replaces)."""
    _sources[name] = source


def _gauges() -> list[Gauge]:
    global _db_cache
    now = time.monotonic()
    with _db_lock:
        if _db_cache is None or now - _db_cache[0] >= settings.METRICS_DB_CACHE_SECONDS:
            gauges: list[Gauge] = []
            for name, source in _sources.items():
                try:
                    gauges.extend(source())
                except Exception as exc:  # the database down: the counters still answer
                    log.warning("metrics source %s failed (%s)", name, type(exc).__name__)
            _db_cache = (time.monotonic(), gauges)
        return _db_cache[1]


def forget() -> None:
    """Drop the cached database figures (tests)."""
    global _db_cache
    with _db_lock:
        _db_cache = None


class DatabaseCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, documentation, labels, samples in _gauges():
            family = GaugeMetricFamily(name, documentation, labels=labels)
            for values, value in samples:
                family.add_metric(values, value)
            yield family


def multiproc_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def exposition() -> bytes:
    """Every metric, in Prometheus' text format."""
    registry = CollectorRegistry()
    if multiproc_dir():
        multiprocess.MultiProcessCollector(registry, path=multiproc_dir())
    else:
        for collector in (REQUEST_SECONDS, FLOW_OUTCOMES, CATEGORIZATIONS, TASK_SECONDS):
            registry.register(collector)
    registry.register(DatabaseCollector())
    return generate_latest(registry)


def _authorized(request: HttpRequest) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), settings.METRICS_TOKEN.encode()
    )


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not settings.METRICS_TOKEN:
        return HttpResponse("Not found.\n", status=404, content_type="text/plain")
    if not _authorized(request):
        response = HttpResponse("Unauthorized.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)


def process_dead(pid: int) -> None:
    """A process that wrote metrics is gone (gunicorn's ``child_exit``, Celery's
    ``worker_process_shutdown``): its live gauges are dropped, its counts stay."""
    if multiproc_dir():
        multiprocess.mark_process_dead(pid, multiproc_dir())


def stale_files_remove(path: str) -> int:
    """Remove the files of processes no longer running (at start: gunicorn's
    ``on_starting``); returns how many. Counters restart from the live processes'
    counts, which Prometheus' ``rate`` takes as a reset."""
    removed = 0
    if not path or not os.path.isdir(path):
        return removed
    for name in os.listdir(path):
        if not name.endswith(".db"):
            continue
        stem = name[:-3].rsplit("_", 1)
        if len(stem) != 2 or not stem[1].isdigit():
            continue
        try:
            os.kill(int(stem[1]), 0)
        except ProcessLookupError:
            os.remove(os.path.join(path, name))
            removed += 1
        except PermissionError:
            pass
    return removed
