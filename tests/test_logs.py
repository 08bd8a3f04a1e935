"""Session tokens never reach the logs: gunicorn's access log (as the Procfile runs
it) and Django's loggers show ``/c/[redacted]/`` and ``/api/v1/flow/[redacted]``."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client

from config.logs import RedactTokensFilter, redact_tokens

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "tOk3n_-SECRETSECRETSECRET"


def test_redact_tokens() -> None:
    assert redact_tokens(f"GET /c/{TOKEN}/offer/?lang=de HTTP/1.1") == (
        "GET /c/[redacted]/offer/?lang=de HTTP/1.1"
    )
    assert (
        redact_tokens(f"POST /api/v1/flow/{TOKEN}/answer") == "POST /api/v1/flow/[redacted]/answer"
    )
    assert redact_tokens(f"https://cancel.example.com/c/{TOKEN}/") == (
        "https://cancel.example.com/c/[redacted]/"
    )
    assert redact_tokens("GET /api/v1/sessions/42 HTTP/1.1") == "GET /api/v1/sessions/42 HTTP/1.1"


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    """What the configured console handler writes, for the length of a test."""
    handlers = [
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, RedactTokensFilter) for f in h.filters)
    ]
    assert len(handlers) == 1, "settings.LOGGING's console handler carries the filter"
    handler = handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


@pytest.mark.django_db
def test_django_request_log_is_redacted(console: io.StringIO) -> None:
    client = Client()
    assert client.get(f"/c/{TOKEN}/").status_code == 404
    assert client.get(f"/api/v1/flow/{TOKEN}").status_code == 404
    written = console.getvalue()
    assert "Not Found: /c/[redacted]/" in written
    assert "Not Found: /api/v1/flow/[redacted]" in written
    assert TOKEN not in written


def test_runserver_request_log_is_redacted(console: io.StringIO) -> None:
    # As django.core.servers.basehttp.WSGIRequestHandler.log_message writes it.
    logging.getLogger("django.server").info(
        '"%s" %s %s', f"GET /c/{TOKEN}/ HTTP/1.1", "200", "1234"
    )
    written = console.getvalue()
    (line,) = written.splitlines()
    assert json.loads(line)["message"] == '"GET /c/[redacted]/ HTTP/1.1" 200 1234'
    assert TOKEN not in written


def _procfile_web_args() -> list[str]:
    line = next(
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")
    )
    args = shlex.split(line.split(":", 1)[1])
    # Keep the logging flags as the Procfile has them; bind and sizing are the test's.
    keep = []
    for i, arg in enumerate(args):
        if arg in ("--logger-class",):
            keep += [arg, args[i + 1]]
    return keep


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_gunicorn_access_log_is_redacted(tmp_path: Path) -> None:
    logger_args = _procfile_web_args()
    assert logger_args == ["--logger-class", "config.access_log.RedactingLogger"]
    port = _free_port()
    access_log = tmp_path / "access.log"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),  # the script, as the Procfile runs
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--access-logfile",
            str(access_log),
            *logger_args,
            "--log-level",
            "critical",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base}/static/css/flow.css", timeout=2)
                break
            except OSError:  # refused, reset or timed out while it starts
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        for path, referer in [
            (f"/c/{TOKEN}/", ""),
            (f"/api/v1/flow/{TOKEN}", ""),
            ("/static/css/flow.css", f"{base}/c/{TOKEN}/offer/"),
        ]:
            request = urllib.request.Request(f"{base}{path}", headers={"Referer": referer})
            # The answer does not matter here (there is no database), the log does.
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(request, timeout=60)
        deadline = time.monotonic() + 10
        while access_log.read_text().count("\n") < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=30)
    written = access_log.read_text()
    assert '"GET /c/[redacted]/ HTTP/1.1"' in written
    assert '"GET /api/v1/flow/[redacted] HTTP/1.1"' in written
    assert f'"{base}/c/[redacted]/offer/"' in written  # the Referer
    assert TOKEN not in written


def test_a_traceback_is_redacted_too(console: io.StringIO) -> None:
    try:
        raise LookupError(f"no session at /c/{TOKEN}/")
    except LookupError:
        logging.getLogger("django.request").exception("Internal Server Error: /c/%s/", TOKEN)
    written = console.getvalue()
    assert "Internal Server Error: /c/[redacted]/" in written
    assert "LookupError: no session at /c/[redacted]/" in written
    assert TOKEN not in written
