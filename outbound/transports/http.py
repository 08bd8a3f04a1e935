"""Outbound HTTP for webhooks, Slack and Stripe: a timeout on every request, no
redirects followed, and an SSRF guard that refuses every address that is not
globally routable (``addresses``; unless ALLOW_PRIVATE_WEBHOOK_TARGETS is set).

The guard holds at the socket, not at a lookup made beforehand: each new
connection looks the host up once, vets every address of the answer, connects
to one of them and checks the peer it connected to, while the Host header, TLS
SNI and certificate check stay on the URL's hostname. A second DNS answer (DNS
rebinding) has nothing to switch. urllib3 does it for webhooks and Slack
(``_pool``), a requests adapter on the same connections for Stripe
(``guarded_session``)."""

from __future__ import annotations

import ipaddress
import socket
import threading
from typing import Any
from urllib.parse import urlsplit

import certifi
import requests
import urllib3
from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from outbound.transports.addresses import check_address, resolve
from outbound.transports.base import TransportError

USER_AGENT = "cancelflow-webhooks/1"
_local = threading.local()


def _connect(conn: HTTPConnection) -> socket.socket:
    """What urllib3's ``_new_conn`` does, to an address ``resolve`` vetted (the
    host is looked up here and nowhere else)."""
    host, port = conn._dns_host, conn.port  # the URL's hostname, as urllib3 resolves it
    timeout = conn.timeout if isinstance(conn.timeout, int | float) else None
    failure: OSError | None = None
    for family, kind, proto, _name, sockaddr in resolve(host, port):
        sock = socket.socket(family, kind, proto)
        try:
            for option in conn.socket_options or ():
                sock.setsockopt(*option)
            sock.settimeout(timeout if timeout is not None else socket.getdefaulttimeout())
            if conn.source_address:
                sock.bind(conn.source_address)
            sock.connect(sockaddr)
        except TimeoutError:
            sock.close()
            raise ConnectTimeoutError(
                conn, f"Connection to {host} timed out. (connect timeout={timeout})"
            ) from None
        except OSError as exc:
            sock.close()
            failure = exc
            continue
        if not settings.ALLOW_PRIVATE_WEBHOOK_TARGETS:
            # The peer we are connected to, as healthchecks checks it: what was vetted.
            try:
                check_address(ipaddress.ip_address(sock.getpeername()[0]), host=host)
            except BaseException:
                sock.close()
                raise
        return sock
    raise NewConnectionError(conn, f"Failed to establish a new connection: {failure}")


class GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _connect(self)


class GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _connect(self)


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


GUARDED_POOLS: dict[str, type[HTTPConnectionPool]] = {
    "http": _GuardedHTTPPool,
    "https": _GuardedHTTPSPool,
}


def _pool() -> urllib3.PoolManager:
    """One keep-alive pool per thread: repeated deliveries to the same receiver
    reuse the connection instead of opening one each time. urllib3 itself, not
    requests on top of it: half the CPU per request, and nothing read from the
    environment (proxies, .netrc). Certificates are checked against certifi's
    bundle, as requests does. A connection opened while private targets were
    allowed is not reused once they are not."""
    allow = settings.ALLOW_PRIVATE_WEBHOOK_TARGETS
    pool = getattr(_local, "pool", None)
    if pool is None or getattr(_local, "allow", None) != allow:
        if pool is not None:
            pool.clear()
        pool = _local.pool = urllib3.PoolManager(
            retries=False, cert_reqs="CERT_REQUIRED", ca_certs=certifi.where()
        )
        pool.pool_classes_by_scheme = GUARDED_POOLS
        _local.allow = allow
    return pool


class GuardedAdapter(requests.adapters.HTTPAdapter):
    """requests on the guarded connections (stripe-python's HTTP client)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = GUARDED_POOLS


def guarded_session() -> requests.Session:
    """A requests session whose every connection goes through the guard, with no
    proxy or .netrc read from the environment and no retries of its own."""
    session = requests.Session()
    session.trust_env = False
    adapter = GuardedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _check_url(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
        hostname = None
    else:
        hostname = parts.hostname
    if parts.scheme not in ("http", "https") or not hostname:
        raise TransportError(f"Not an http(s) URL: {url[:100]!r}.", permanent=True)
    return hostname, port or (443 if parts.scheme == "https" else 80)


def check_target(url: str) -> None:
    """Raise ``TransportError`` for a URL we must not call (``permanent=True``:
    not http(s), or an address that is not public; a name that does not resolve
    may resolve later). For validating a URL when it is entered; sending checks
    again, at the socket."""
    hostname, port = _check_url(url)
    if not settings.ALLOW_PRIVATE_WEBHOOK_TARGETS:
        resolve(hostname, port)


def post_json(
    url: str, body: bytes, headers: dict[str, str], *, client_errors_permanent: bool = False
) -> int:
    """POST ``body``; return the status code of a 2xx answer, raise otherwise.
    ``client_errors_permanent``: a 4xx other than 408 and 429 is permanent (for a
    receiver whose 4xx means the request or the target is wrong for good)."""
    _check_url(url)
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
    permanent = client_errors_permanent and 400 <= code < 500 and code not in (408, 429)
    raise TransportError(
        f"{code} from the receiver: {snippet}", status_code=code, permanent=permanent
    )
