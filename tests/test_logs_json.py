"""Log lines are JSON with the request id, and carry no secrets or personal data
(config/logs.py, config/requestlog.py)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from config.logs import REQUEST_ID, TEXT_FORMAT, JsonLineFormatter, RedactTokensFilter, redact
from tests.test_settings import start

EMAIL = "ada.lovelace@example.com"
WORDS = "my manager Brian keeps complaining about the invoices"


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    handler = next(
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, RedactTokensFilter) for f in h.filters)
    )
    assert isinstance(handler, logging.StreamHandler)
    assert isinstance(handler.formatter, JsonLineFormatter), "LOG_FORMAT defaults to json"
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


@pytest.mark.django_db(transaction=True)
def test_a_cancellation_logs_json_with_its_request_id_and_no_secrets(
    console: io.StringIO, api_key: str, workspace, settings
) -> None:
    settings.ALLOW_PRIVATE_WEBHOOK_TARGETS = True
    from alerts.models import WebhookEndpoint

    # The outcome webhook is tried (and fails: nothing listens) within the request.
    WebhookEndpoint.objects.create(workspace=workspace, url="http://127.0.0.1:1/hook")
    client = Client()
    opened = client.post(
        "/api/v1/sessions",
        {
            "customer": {"id": "cus_1", "email": EMAIL, "name": "Ada Lovelace"},
            "subscription": {"id": "sub_1", "plan": "Pro", "mrr_cents": 4900},
        },
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api_key}",
        HTTP_X_REQUEST_ID="req-open-1",
    )
    assert opened.status_code == 201
    assert opened["X-Request-ID"] == "req-open-1"
    token = opened.json()["token"]
    answered = client.post(
        f"/api/v1/flow/{token}/answer",
        {"reason": "other", "text": WORDS},
        content_type="application/json",
        HTTP_X_REQUEST_ID="req-answer-1",
    )
    assert answered.status_code == 200
    cancelled = client.post(f"/api/v1/flow/{token}/cancel", HTTP_X_REQUEST_ID="req-cancel-1")
    assert cancelled.status_code == 200
    # Refused requests log too (a wrong key, a made-up token).
    client.get("/api/v1/sessions", HTTP_AUTHORIZATION=f"Bearer {api_key}x")
    client.get(f"/c/{token}x/")
    client.get(f"/api/v1/sessions?email={EMAIL}", HTTP_AUTHORIZATION=f"Bearer {api_key}")

    written = console.getvalue()
    records = lines(console)  # every line is one JSON object
    requests = [r for r in records if r["logger"] == "cancelflow.request"]
    assert [(r["request_id"], r["route"], r["status"]) for r in requests[:3]] == [
        ("req-open-1", "api-sessions", 201),
        ("req-answer-1", "api-flow-answer", 200),
        ("req-cancel-1", "api-flow-cancel", 200),
    ]
    assert all({"time", "level", "message", "duration_ms"} <= set(r) for r in requests)
    # Django's own line for the refused key carries the request's id as well.
    refused = [r for r in records if r["logger"] == "django.request"]
    assert refused and all(r["request_id"] not in ("-", "") for r in refused)
    for secret in (token, api_key, EMAIL, "Ada Lovelace", WORDS, "Brian"):
        assert secret not in written, secret


def test_a_made_up_request_id_when_none_or_a_bad_one_is_given(client: Client) -> None:
    first = client.get("/livez")["X-Request-ID"]
    second = client.get("/livez", HTTP_X_REQUEST_ID="bad id with spaces\n")["X-Request-ID"]
    assert len(first) == 32 and len(second) == 32 and first != second
    assert client.get("/livez", HTTP_X_REQUEST_ID="a" * 129)["X-Request-ID"] != "a" * 129


def test_secrets_logged_by_mistake_are_redacted(console: io.StringIO) -> None:
    log = logging.getLogger("anything")
    token = REQUEST_ID.set("req-42")
    try:
        log.warning(
            "key %s for %s at /c/%s/ with Bearer abc.def and whsec_0123456789abcdef",
            "cfk_abcdefghijklmnop",
            EMAIL,
            "sessiontoken123",
            extra={"who": EMAIL, "path": "/api/v1/flow/sessiontoken123/cancel", "n": 3},
        )
    finally:
        REQUEST_ID.reset(token)
    (record,) = lines(console)
    assert record["request_id"] == "req-42"
    assert record["n"] == 3
    assert record["who"] == "[redacted]"
    assert record["path"] == "/api/v1/flow/[redacted]/cancel"
    for secret in ("cfk_abcdefghijklmnop", EMAIL, "sessiontoken123", "abc.def", "whsec_0123"):
        assert secret not in console.getvalue()


def test_redact() -> None:
    assert redact("mail ada@example.co.uk now") == "mail [redacted] now"
    assert redact("Authorization: Bearer cfk_x1y2z3w4v5") == "Authorization: [redacted]"
    assert redact("sk_live_abcdef123 rk_test_zzzzzz99") == "[redacted] [redacted]"
    assert redact("GET /api/v1/sessions/42 200") == "GET /api/v1/sessions/42 200"
    assert redact("<WSGIRequest: GET '/c/tok123/offer/?email=ada@example.com'>") == (
        "<WSGIRequest: GET '/c/[redacted]/offer/?email=[redacted]'>"
    )


def test_text_format_is_readable() -> None:
    record = logging.makeLogRecord(
        {"name": "x", "levelname": "INFO", "msg": "hello", "request_id": "r1"}
    )
    line = logging.Formatter(TEXT_FORMAT).format(record)
    assert line.endswith("INFO x [r1] hello")


def test_log_format_is_checked() -> None:
    result = start(LOG_FORMAT="xml")
    assert result.returncode != 0
    assert "LOG_FORMAT='xml' must be json or text" in result.stderr
    result = start(LOG_FORMAT="text")
    assert result.returncode == 0, result.stderr
