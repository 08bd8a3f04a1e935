"""Real HTTP receivers on loopback for outbound tests: they record every request
and answer with scripted status codes (then 200)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class LoopbackServer:
    """A threaded HTTP server on a free loopback port, behind a test's fake."""

    server: ThreadingHTTPServer | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@dataclass
class Receiver(LoopbackServer):
    """``Receiver.start(statuses=[500, 500])`` answers 500 twice, then 200."""

    statuses: list[int] = field(default_factory=list)
    # Seconds to stall before answering, per request in order (then none).
    stalls: list[float] = field(default_factory=list)
    redirect_to: str = ""
    requests: list[Received] = field(default_factory=list)

    @classmethod
    def start(
        cls,
        statuses: list[int] | None = None,
        redirect_to: str = "",
        stalls: list[float] | None = None,
    ) -> Receiver:
        receiver = cls(
            statuses=list(statuses or []), redirect_to=redirect_to, stalls=list(stalls or [])
        )
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with lock:
                    receiver.requests.append(
                        Received(self.path, dict(self.headers.items()), body, time.time())
                    )
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    stall = receiver.stalls.pop(0) if receiver.stalls else 0.0
                if stall:
                    time.sleep(stall)
                if receiver.redirect_to:
                    self.send_response(302)
                    self.send_header("Location", receiver.redirect_to)
                else:
                    self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        receiver.serve(Handler)
        return receiver

    def paths(self) -> list[str]:
        return [request.path for request in self.requests]
