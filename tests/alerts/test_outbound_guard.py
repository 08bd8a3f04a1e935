"""The outbound guard: every address that is not globally routable is refused, at
entry and when sending, and a connection goes to the address that was vetted,
whatever a second DNS answer says (DNS rebinding)."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from alerts.models import Channel, Team, WebhookEndpoint
from outbound.models import Delivery, DeliveryStatus
from outbound.transports import addresses, http
from outbound.transports.base import TransportError
from outbound.transports.http import check_target, guarded_session, post_json
from surveys.services import session_cancel
from tests.alerts.conftest import make_endpoint
from tests.factories import UserFactory, make_session
from tests.receivers import Receiver
from workspaces.models import Role
from workspaces.services import membership_add

REFUSED = [
    ("64:ff9b::7f00:1", "NAT64 form of 127.0.0.1"),  # the two from the issue
    ("64:ff9b::a9fe:a9fe", "NAT64 form of 169.254.169.254"),
    ("64:ff9b:1::a00:1", "local-use NAT64"),
    ("2002:a00:1::1", "6to4 form of 10.0.0.1"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    ("::ffff:127.0.0.1", "IPv4-mapped form of 127.0.0.1"),
    ("::ffff:10.1.2.3", "IPv4-mapped form of 10.1.2.3"),
    ("::127.0.0.1", "IPv4-compatible form of 127.0.0.1"),
    ("169.254.169.254", "link-local"),
    ("100.64.0.1", "private or shared"),  # CGNAT
    ("0.0.0.0", "unspecified"),
    ("127.0.0.1", "loopback"),
    ("10.0.0.1", "private"),
    ("192.168.1.1", "private"),
    ("224.0.0.1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("fc00::1", "private"),
    ("fe80::1", "link-local"),
    ("fec0::1", "link-local"),
    ("ff02::1", "multicast"),
    ("::", "unspecified"),
    ("::1", "loopback"),
]
ALLOWED = [
    "93.184.215.14",
    "2606:4700:4700::1111",
    "64:ff9b::5db8:d70e",  # NAT64 of a public address (DNS64 networks)
    "2002:5db8:d70e::1",  # 6to4 of a public address
]


def url_of(address: str, port: int | None = None) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}{f':{port}' if port else ''}/hook"


@pytest.fixture
def strict(settings: Any) -> Any:
    settings.ALLOW_PRIVATE_WEBHOOK_TARGETS = False
    settings.OUTBOUND_TIMEOUT_SECONDS = 5
    settings.DELIVERY_RETRY_DELAYS = [0, 0, 0]
    return settings


@pytest.mark.parametrize(("address", "why"), REFUSED)
def test_non_global_addresses_are_refused_with_the_reason(strict, address, why) -> None:
    with pytest.raises(TransportError) as refused:
        check_target(url_of(address))
    assert refused.value.permanent
    assert "non-public address" in refused.value.message
    assert why in refused.value.message


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(strict, address) -> None:
    check_target(url_of(address))  # no exception


def test_the_relaxed_setting_allows_private_targets(settings) -> None:
    settings.ALLOW_PRIVATE_WEBHOOK_TARGETS = True
    check_target(url_of("64:ff9b::7f00:1"))
    check_target(url_of("127.0.0.1", 8000))


@pytest.mark.django_db
@pytest.mark.parametrize("address", ["64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "::ffff:127.0.0.1"])
def test_the_api_refuses_them_at_registration(api, strict, address) -> None:
    response = api.post("/api/v1/webhook-endpoints", {"url": url_of(address)}, format="json")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "url_refused"
    assert "non-public address" in error["fields"]["url"]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_the_admin_refuses_a_nat64_slack_target(workspace, strict) -> None:
    user = UserFactory()
    membership_add(workspace=workspace, user=user, role=Role.ADMIN)
    client = Client()
    client.force_login(user)
    team = Team.objects.create(workspace=workspace, name="Support")
    response = client.post(
        "/admin/alerts/channel/add/",
        {"team": team.pk, "kind": "slack", "target": url_of("64:ff9b::7f00:1"), "is_enabled": "on"},
    )
    assert response.status_code == 200  # the form again, with the error
    assert "NAT64 form of 127.0.0.1" in response.content.decode()
    assert not Channel.objects.exists()


@pytest.mark.django_db
def test_a_delivery_to_a_nat64_address_is_dead_at_once(
    workspace, strict, django_capture_on_commit_callbacks
) -> None:
    make_endpoint(workspace, url_of("64:ff9b::7f00:1", 9))  # bypassing the API
    with django_capture_on_commit_callbacks(execute=True):
        session_cancel(token=make_session(workspace).token)
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.DEAD and delivery.attempts == 1
    assert "NAT64 form of 127.0.0.1" in delivery.last_error


# --- DNS rebinding ------------------------------------------------------------------


class Rebinder:
    """``socket.getaddrinfo`` for one name: the first answer, then another one for
    every later lookup; lookups of that name are counted. Other names resolve as
    usual."""

    def __init__(self, name: str, first: str, then: str) -> None:
        self.name, self.answers, self.lookups = name, [first, then], 0
        self.real = socket.getaddrinfo

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != self.name:
            return self.real(host, port, *args, **kwargs)
        self.lookups += 1
        address = self.answers[0] if self.lookups == 1 else self.answers[1]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port)))]


@pytest.fixture
def fresh_pool(monkeypatch) -> None:
    """No connection kept from another test."""
    monkeypatch.setattr(http, "_local", threading.local())


def test_rebinding_to_loopback_after_the_check_is_refused(
    strict, fresh_pool, monkeypatch, receiver
) -> None:
    port = int(receiver.url.rsplit(":", 1)[1])
    rebinder = Rebinder("hooks.rebind.test", "93.184.215.14", "127.0.0.1")
    monkeypatch.setattr(socket, "getaddrinfo", rebinder)
    url = f"http://hooks.rebind.test:{port}/hook"
    check_target(url)  # registration: the first answer is public
    with pytest.raises(TransportError) as refused:
        post_json(url, b"{}", {})  # sending looks it up again: now loopback
    assert refused.value.permanent
    assert "hooks.rebind.test resolves to a non-public address (127.0.0.1" in refused.value.message
    assert receiver.requests == []  # nothing reached the loopback server


def _vet_only(address: str) -> Callable[[Any], str | None]:
    """The guard, except that ``address`` (a local test server) counts as public."""
    real = addresses.refusal
    return lambda candidate: None if str(candidate) == address else real(candidate)


@pytest.fixture
def public_twin(receiver: Receiver) -> Iterator[list[str]]:
    """A second server on 127.0.0.2, on the receiver's port: it stands for the
    public address a name first answers (``_vet_only`` lets it through the guard).
    It records the paths it gets."""
    port = int(receiver.url.rsplit(":", 1)[1])
    paths: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            paths.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.2", port), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield paths
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("client", ["urllib3", "requests"])
def test_a_second_dns_answer_cannot_switch_the_connection_to_loopback(
    strict, fresh_pool, monkeypatch, receiver, public_twin, client
) -> None:
    """A public answer first, 127.0.0.1 on every later lookup: the request goes to
    the address vetted on the one lookup, never to the loopback receiver. (A check
    then a second lookup to connect, as before, would reach 127.0.0.1.)"""
    port = int(receiver.url.rsplit(":", 1)[1])
    monkeypatch.setattr(addresses, "refusal", _vet_only("127.0.0.2"))
    rebinder = Rebinder("hooks.rebind.test", "127.0.0.2", "127.0.0.1")
    monkeypatch.setattr(socket, "getaddrinfo", rebinder)
    url = f"http://hooks.rebind.test:{port}/hook"
    if client == "urllib3":
        assert post_json(url, b"{}", {}) == 200
    else:
        assert guarded_session().post(url, data=b"{}", timeout=5).status_code == 200
    assert public_twin == ["/hook"]
    assert receiver.requests == []
    assert rebinder.lookups == 1


@pytest.mark.parametrize("client", ["urllib3", "requests"])
def test_the_connection_goes_to_the_address_that_was_vetted(
    strict, fresh_pool, monkeypatch, receiver, client
) -> None:
    """The name answers the receiver's address first and a private one after: the
    one lookup is vetted and connected to; Host stays the name. (Resolving twice,
    to check then to connect, would go to 127.0.0.2, where nothing listens.)"""
    port = int(receiver.url.rsplit(":", 1)[1])
    monkeypatch.setattr(addresses, "refusal", _vet_only("127.0.0.1"))
    rebinder = Rebinder("hooks.rebind.test", "127.0.0.1", "127.0.0.2")
    monkeypatch.setattr(socket, "getaddrinfo", rebinder)
    url = f"http://hooks.rebind.test:{port}/hook"
    if client == "urllib3":
        assert post_json(url, b"{}", {}) == 200
    else:
        assert guarded_session().post(url, data=b"{}", timeout=5).status_code == 200
    assert rebinder.lookups == 1
    assert [r.headers["Host"] for r in receiver.requests] == [f"hooks.rebind.test:{port}"]


def test_with_the_guard_relaxed_the_connection_still_goes_to_the_first_answer(
    settings, fresh_pool, monkeypatch, receiver
) -> None:
    settings.ALLOW_PRIVATE_WEBHOOK_TARGETS = True
    port = int(receiver.url.rsplit(":", 1)[1])
    rebinder = Rebinder("hooks.rebind.test", "127.0.0.1", "127.0.0.2")
    monkeypatch.setattr(socket, "getaddrinfo", rebinder)
    assert post_json(f"http://hooks.rebind.test:{port}/hook", b"{}", {}) == 200
    assert rebinder.lookups == 1 and len(receiver.requests) == 1


# --- TLS on the name, connected to the vetted address --------------------------------


@pytest.fixture
def tls_receiver(tmp_path: Path) -> Iterator[tuple[int, Path, list[str], list[str]]]:
    """An HTTPS server on 127.0.0.1 with a self-signed certificate for
    hooks.rebind.test; it records the SNI name and the Host header it gets."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=hooks.rebind.test", "-addext", "subjectAltName=DNS:hooks.rebind.test",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    names: list[str] = []
    hosts: list[str] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def record_sni(_sock: Any, name: str | None, _context: Any) -> None:
        names.append(name or "")

    context.sni_callback = record_sni

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            hosts.append(self.headers["Host"])
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield server.server_address[1], cert, names, hosts
    finally:
        server.shutdown()
        server.server_close()


def test_tls_checks_the_name_while_connecting_to_the_vetted_address(
    strict, fresh_pool, monkeypatch, tls_receiver
) -> None:
    port, cert, names, hosts = tls_receiver
    monkeypatch.setattr(http.certifi, "where", lambda: str(cert))
    monkeypatch.setattr(addresses, "refusal", _vet_only("127.0.0.1"))
    rebinder = Rebinder("hooks.rebind.test", "127.0.0.1", "127.0.0.2")
    monkeypatch.setattr(socket, "getaddrinfo", rebinder)
    assert post_json(f"https://hooks.rebind.test:{port}/hook", b"{}", {}) == 200
    assert names == ["hooks.rebind.test"]  # SNI: the name, not the address
    assert hosts == [f"hooks.rebind.test:{port}"]
    assert rebinder.lookups == 1


def test_a_certificate_for_another_name_is_refused(
    strict, fresh_pool, monkeypatch, tls_receiver
) -> None:
    port, cert, _names, hosts = tls_receiver
    monkeypatch.setattr(http.certifi, "where", lambda: str(cert))
    monkeypatch.setattr(addresses, "refusal", _vet_only("127.0.0.1"))
    monkeypatch.setattr(socket, "getaddrinfo", Rebinder("other.test", "127.0.0.1", "127.0.0.1"))
    with pytest.raises(TransportError, match="Connection failed"):
        post_json(f"https://other.test:{port}/hook", b"{}", {})
    assert hosts == []
