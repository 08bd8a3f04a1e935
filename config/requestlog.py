"""The request id, the request log line and the request latency metric.

``RequestLogMiddleware`` runs first. It takes the request id from the
``X-Request-ID`` header when that is a sane one (1 to 128 letters, digits and
``-_.:``), else makes one; sets it for every log line written while the request
is served (``config.logs.REQUEST_ID``) and for the Celery tasks the request queues
(``config.celery`` puts it in each task's headers); echoes it in the response's
``X-Request-ID``; writes one ``request`` line (method, route name, path with
tokens redacted, status, duration; never the query string or the body); and
observes ``cancelflow_http_request_duration_seconds`` by route name.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from config.logs import REQUEST_ID, redact
from config.metrics import REQUEST_SECONDS

HEADER = "X-Request-ID"
_SANE = re.compile(r"^[A-Za-z0-9\-_.:]{1,128}$")
log = logging.getLogger("cancelflow.request")


def request_id_for(request: HttpRequest) -> str:
    given = request.headers.get(HEADER, "")
    return given if _SANE.match(given) else uuid.uuid4().hex


def route_name(request: HttpRequest) -> str:
    """The URL pattern's name (``app:name``), its route, or ``unmatched``."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.view_name or match.route or "unnamed"


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_for(request)
        # Kept until the request is finished (``request_finished`` below): Django
        # logs a 4xx or 5xx answer after the middleware has returned it.
        REQUEST_ID.set(request_id)
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        response[HEADER] = request_id
        route = route_name(request)
        REQUEST_SECONDS.labels(route, request.method or "", str(response.status_code)).observe(
            elapsed
        )
        log.info(
            "%s %s %s",
            request.method,
            redact(request.path),
            response.status_code,
            extra={
                "method": request.method,
                "route": route,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 1),
            },
        )
        return response


@receiver(request_finished)
def _request_id_forget(**kwargs: Any) -> None:
    REQUEST_ID.set("-")
