"""Helpers for outbound integration tests: a private Redis we may stop, an SMTP
server on loopback, a web process, and worker settings for quick retries."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.integration.conftest import ROOT, worker_env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def outbound_env(**extra: str) -> dict[str, str]:
    """A worker that may call loopback receivers and retries quickly."""
    settings = {
        "ALLOW_PRIVATE_WEBHOOK_TARGETS": "true",
        "DELIVERY_RETRY_DELAYS": "0.3,0.3,0.3,0.3",
        "DELIVERY_STALE_AFTER_SECONDS": "3",
        "DELIVERY_SWEEP_INTERVAL_SECONDS": "1",
        "OUTBOUND_TIMEOUT_SECONDS": "60",
    }
    return worker_env(**{**settings, **extra})


class PrivateRedis:
    """A redis-server of this test's own, on a free port, that it may stop."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@dataclass
class SmtpSink:
    """aiosmtpd on loopback, keeping every message it receives."""

    messages: list[Any] = field(default_factory=list)
    controller: Any = None

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                sink.messages.append(envelope)
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=free_port())
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()


class WebProcess:
    """gunicorn serving the app, as a customer's browser or the host would reach it."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.log = ROOT / "test-results" / f"web-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.log.parent.mkdir(exist_ok=True)
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                "--threads",
                "2",
            ],
            cwd=ROOT,
            env={**self.env, "ALLOWED_HOSTS": "127.0.0.1"},
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"web process exited; see {self.log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("web process did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)
