"""A host's product page on a second loopback origin, for the widget's tests.

The service runs on ``http://localhost:<port>`` (pytest-django's live server);
this page is served from ``http://127.0.0.1:<another port>``: another origin and
another site, so the widget's frame is a cross-site frame, as on a real host.
The page sends a strict Content-Security-Policy of its own: the widget must work
with nothing allowed but the service's origin.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Your account · Example host</title>
<script src="{service}/widget/v1.js" defer></script>
<script src="/host.js" defer></script>
</head>
<body>
<main>
<h1>Your account</h1>
<p><a href="#billing">Billing history</a></p>
<p><button id="cancel" type="button">Cancel subscription</button></p>
<p id="log" role="status"></p>
</main>
</body>
</html>
"""

# Records every message from the service and every callback, for the tests.
SCRIPT = """
window.received = [];
window.calls = [];
window.openOptions = null;
window.addEventListener("message", (event) => {
  if (event.data && event.data.source === "cancelflow") {
    window.received.push({ origin: event.origin, data: event.data });
  }
});
document.getElementById("cancel").addEventListener("click", () => {
  window.Cancelflow.open(window.openOptions, {
    onSaved: (offer, terms) => window.calls.push(["saved", offer, terms]),
    onCancelled: () => window.calls.push(["cancelled"]),
    onKept: () => window.calls.push(["kept"]),
    onClose: () => window.calls.push(["close"]),
    onError: (error) => window.calls.push(["error", error.code || error.message]),
  });
});
"""


@dataclass
class HostSite:
    origin: str

    @property
    def url(self) -> str:
        return f"{self.origin}/account"


@contextmanager
def host_site(service: str) -> Iterator[HostSite]:
    """Serve the host page on 127.0.0.1 and a free port, embedding ``service``'s widget."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/host.js":
                body, kind = SCRIPT.encode(), "text/javascript"
            elif self.path == "/account":
                body, kind = PAGE.format(service=service).encode(), "text/html; charset=utf-8"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header(
                "Content-Security-Policy",
                f"default-src 'self'; script-src 'self' {service}; "
                f"connect-src {service}; frame-src {service}; style-src 'self'; "
                "img-src 'self'; object-src 'none'; base-uri 'none'",
            )
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield HostSite(origin=f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
