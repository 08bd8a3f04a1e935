"""Outbound HTTP for webhooks and Slack: a timeout on every request, no redirects
followed, and an SSRF guard that refuses private, loopback, link-local and other
non-public addresses (unless ALLOW_PRIVATE_WEBHOOK_TARGETS is set)."""

from __future__ import annotations

import ipaddress
import socket
import threading
from urllib.parse import urlsplit

import certifi
import urllib3
from django.conf import settings

from alerts.transports.base import TransportError

USER_AGENT = "cancelflow-webhooks/1"
_local = threading.local()


def _pool() -> urllib3.PoolManager:
    """One keep-alive pool per thread: repeated deliveries to the same receiver
    reuse the connection instead of opening one each time. urllib3 itself, not
    requests on top of it: half the CPU per request, and nothing read from the
    environment (proxies, .netrc). Certificates are checked against certifi's
    bundle, as requests does."""
    pool = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = urllib3.PoolManager(
            retries=False, cert_reqs="CERT_REQUIRED", ca_certs=certifi.where()
        )
    return pool


def check_target(url: str) -> None:
    """Raise ``TransportError(permanent=True)`` for a URL we must not call."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TransportError(f"Not an http(s) URL: {url[:100]!r}.", permanent=True)
    if settings.ALLOW_PRIVATE_WEBHOOK_TARGETS:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise TransportError(f"Cannot resolve {parts.hostname}: {exc}") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise TransportError(
                f"{parts.hostname} resolves to a non-public address ({address}); refused.",
                permanent=True,
            )


def post_json(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST ``body``; return the status code of a 2xx answer, raise otherwise."""
    check_target(url)
    timeout = settings.OUTBOUND_TIMEOUT_SECONDS
    try:
        response = _pool().request(
            "POST",
            url,
            body=body,
            headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            redirect=False,
        )
    except urllib3.exceptions.NewConnectionError as exc:  # a ConnectTimeoutError, too
        raise TransportError(f"Connection failed: {type(exc).__name__}: {exc}"[:480]) from None
    except urllib3.exceptions.TimeoutError:
        raise TransportError(f"No answer within {timeout:g} s.") from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise TransportError(f"Connection failed: {type(exc).__name__}: {exc}"[:480]) from None
    code = response.status
    if 200 <= code < 300:
        return code
    if code == 410:
        raise TransportError(
            "410 Gone: the receiver asked us to stop.", disable=True, status_code=code
        )
    if 300 <= code < 400:
        # A redirect could point anywhere, including inside our network.
        raise TransportError(
            f"{code} redirect to {response.headers.get('Location', '?')[:200]} not followed.",
            status_code=code,
        )
    snippet = response.data[:800].decode(errors="replace")[:200].replace("\n", " ")
    raise TransportError(f"{code} from the receiver: {snippet}", status_code=code)
