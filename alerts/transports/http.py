"""Outbound HTTP for webhooks and Slack: a timeout on every request, no redirects
followed, and an SSRF guard that refuses private, loopback, link-local and other
non-public addresses (unless ALLOW_PRIVATE_WEBHOOK_TARGETS is set)."""

from __future__ import annotations

import ipaddress
import socket
import threading
from urllib.parse import urlsplit

import requests
from django.conf import settings

from alerts.transports.base import TransportError

USER_AGENT = "cancelflow-webhooks/1"
_local = threading.local()


def _session() -> requests.Session:
    """One keep-alive session per thread: repeated deliveries to the same receiver
    reuse the connection instead of opening one each time."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
        session.trust_env = False  # no proxies or .netrc from the environment
    return session


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
    try:
        response = _session().post(
            url,
            data=body,
            headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
            timeout=settings.OUTBOUND_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except requests.Timeout:
        raise TransportError(f"No answer within {settings.OUTBOUND_TIMEOUT_SECONDS:g} s.") from None
    except requests.RequestException as exc:
        raise TransportError(f"Connection failed: {type(exc).__name__}: {exc}"[:480]) from None
    code = response.status_code
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
    snippet = response.text[:200].replace("\n", " ")
    raise TransportError(f"{code} from the receiver: {snippet}", status_code=code)
