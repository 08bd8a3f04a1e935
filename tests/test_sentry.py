"""Errors go to Sentry when SENTRY_DSN is set, without personal data: a loopback
stand-in for Sentry receives the envelope (config/sentry.py)."""

from __future__ import annotations

import gzip
import json
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client

from config.sentry import sentry_init

TOKEN = "sessTOKENabcdefghijkl0123"
EMAIL = "grace.hopper@example.com"
API_KEY = "cfk_abcdefghijklmnopqrstuvwxyz"


class Envelopes:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.arrived = threading.Event()


@pytest.fixture
def sentry() -> Iterator[tuple[str, Envelopes]]:
    envelopes = Envelopes()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            encoding = self.headers.get("Content-Encoding", "")
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            elif encoding == "br":
                import brotli  # type: ignore[import-not-found]

                body = brotli.decompress(body)
            envelopes.bodies.append(body)
            envelopes.arrived.set()
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    yield f"http://publickey@127.0.0.1:{port}/42", envelopes
    import sentry_sdk

    sentry_sdk.init()  # no DSN: nothing is sent any more
    server.shutdown()


def events_in(body: bytes) -> list[dict[str, Any]]:
    """The event items of an envelope (header line, then item header + payload)."""
    found = []
    lines = body.split(b"\n")
    for i, line in enumerate(lines[1:], start=1):
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and item.get("type") == "event" and i + 1 < len(lines):
            found.append(json.loads(lines[i + 1]))
    return found


@pytest.mark.django_db
def test_an_error_reaches_sentry_without_personal_data(sentry, settings) -> None:
    import sentry_sdk

    dsn, envelopes = sentry
    settings.ROOT_URLCONF = "tests.sentry_urls"
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False
    sentry_init(dsn, environment="test")
    client = Client(raise_request_exception=False)
    response = client.post(
        f"/c/{TOKEN}/fail?email={EMAIL}",
        {"email": EMAIL, "text": "I am leaving because of Brian"},
        HTTP_AUTHORIZATION=f"Bearer {API_KEY}",
        HTTP_COOKIE=f"sessionid=secretcookie; email={EMAIL}",
        HTTP_X_REQUEST_ID="req-sentry-1",
        REMOTE_ADDR="203.0.113.9",
    )
    assert response.status_code == 500
    sentry_sdk.flush(timeout=10)
    assert envelopes.arrived.wait(10), "no envelope reached the stand-in DSN"
    raw = b"\n".join(envelopes.bodies)
    events = [e for body in envelopes.bodies for e in events_in(body)]
    assert len(events) == 1
    (event,) = events
    exception = event["exception"]["values"][-1]
    assert exception["type"] == "RuntimeError"
    assert exception["value"] == "could not cancel for [redacted] at /c/[redacted]/"
    assert event["tags"]["request_id"] == "req-sentry-1"
    assert "user" not in event
    for secret in (TOKEN, EMAIL, API_KEY, "secretcookie", "Brian", "203.0.113.9"):
        assert secret.encode() not in raw, secret


def test_scrub_drops_and_redacts_what_identifies_a_customer() -> None:
    from config.sentry import scrub

    event = {
        "user": {"email": EMAIL, "ip_address": "203.0.113.9"},
        "server_name": "web-1",
        "request": {
            "url": f"https://cancel.example.com/api/v1/flow/{TOKEN}/answer",
            "query_string": f"email={EMAIL}",
            "data": {"text": "Brian"},
            "cookies": {"sessionid": "secretcookie"},
            "env": {"REMOTE_ADDR": "203.0.113.9"},
            "headers": {
                "Authorization": f"Bearer {API_KEY}",
                "Cookie": "sessionid=secretcookie",
                "Content-Type": "application/json",
                "Referer": f"https://cancel.example.com/c/{TOKEN}/",
            },
        },
        "breadcrumbs": {"values": [{"message": f"sent to {EMAIL}"}]},
        "extra": {"note": f"key {API_KEY}"},
    }
    cleaned = scrub(event)
    assert "user" not in cleaned and "server_name" not in cleaned
    assert cleaned["request"] == {
        "url": "https://cancel.example.com/api/v1/flow/[redacted]/answer",
        "headers": {"Content-Type": "application/json"},
    }
    assert cleaned["breadcrumbs"]["values"][0]["message"] == "sent to [redacted]"
    assert cleaned["extra"]["note"] == "key [redacted]"


def test_a_traceback_in_a_json_log_line_is_redacted() -> None:
    import logging

    from config.logs import JsonLineFormatter, RedactTokensFilter

    try:
        raise RuntimeError(f"no session at /c/{TOKEN}/ for {EMAIL}")
    except RuntimeError:
        record = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed", (), exc_info=__import__("sys").exc_info()
        )
    RedactTokensFilter().filter(record)
    line = JsonLineFormatter().format(record)
    assert "RuntimeError: no session at /c/[redacted]/ for [redacted]" in json.loads(line)["error"]
    assert TOKEN not in line and EMAIL not in line
