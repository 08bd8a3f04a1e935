"""Errors to Sentry, when ``SENTRY_DSN`` is set, without personal data.

``sentry_init`` (called from the settings) starts ``sentry-sdk`` with Django and
Celery integrations, ``send_default_pii`` left off (no user, no IP address,
no cookies, no request bodies), and ``scrub`` as ``before_send``: every string left
in an event (messages, exception values, breadcrumbs, the request's URL and
headers, local variables) has session tokens, credentials and email addresses
replaced by ``[redacted]`` (``config.logs.redact``), and the request's query
string, cookies, body and the user are dropped. The request id goes with each
event as the tag ``request_id``.
"""

from __future__ import annotations

from typing import Any

from config.logs import REDACTED, REQUEST_ID, redact

# Request headers kept (redacted); any other header is dropped.
_HEADERS_KEPT = {"content-type", "content-length", "user-agent", "x-request-id", "accept"}


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    return value


def scrub(event: Any, hint: Any = None) -> Any:
    """Drop and redact what could identify a customer or open their session."""
    event.pop("user", None)
    event.pop("server_name", None)
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("data", "cookies", "query_string", "env"):
            request.pop(key, None)
        headers = request.get("headers") or {}
        request["headers"] = {
            name: value for name, value in headers.items() if name.lower() in _HEADERS_KEPT
        }
    request_id = REQUEST_ID.get()
    if request_id != "-":
        event.setdefault("tags", {})["request_id"] = request_id
    return _clean(event)


def scrub_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    return _clean(crumb)


def sentry_init(dsn: str, *, environment: str, traces: float = 0.0) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        # send_default_pii is left at its default, off (newer releases deprecate
        # naming it): no user, IP address, cookies or bodies.
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrub,
        before_breadcrumb=scrub_breadcrumb,
        traces_sample_rate=traces,
    )


__all__ = ["REDACTED", "scrub", "sentry_init"]
