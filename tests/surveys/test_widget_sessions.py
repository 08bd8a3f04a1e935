"""The widget opens a session from the browser with an identity the host's server
signed: every field of the session is inside the signed payload."""

from __future__ import annotations

import base64
import copy
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from surveys.models import CancelSession
from workspaces.identity import widget_identity_sign, widget_payload_encode, widget_payload_sign

URL = "/api/v1/widget/sessions"
README = Path(__file__).resolve().parents[2] / "README.md"

BODY: dict[str, Any] = {
    "customer": {"id": "cus_1", "email": "ada@example.com", "name": "Ada"},
    "subscription": {
        "id": "sub_1",
        "plan": "Pro",
        "mrr_cents": 4900,
        "currency": "eur",
        "started_at": "2025-01-15T10:00:00Z",
    },
    "locale": "zh-CN",
    "return_url": "https://app.example.com/account",
    "metadata": {"seats": 3},
}


def _signed(workspace: Any, body: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, str]:
    kwargs.setdefault("secret", workspace.identity_secret)
    return widget_identity_sign(workspace=workspace.public_id, body=body or BODY, **kwargs)


def _decoded(payload: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_a_signed_payload_opens_a_session_with_every_field_from_it(
    anon_api: APIClient, workspace: Any
) -> None:
    response = anon_api.post(URL, _signed(workspace), format="json")

    assert response.status_code == 201, response.json()
    assert set(response.json()) == {"id", "token", "url", "status", "expires_at"}
    session = CancelSession.objects.get(pk=response.json()["id"])
    assert session.source == "widget"
    assert session.workspace == workspace
    assert (session.customer_id, session.customer_email, session.customer_name) == (
        "cus_1",
        "ada@example.com",
        "Ada",
    )
    assert (session.subscription_id, session.plan, session.mrr_cents, session.currency) == (
        "sub_1",
        "Pro",
        4900,
        "EUR",
    )
    assert session.subscription_started_at.isoformat() == "2025-01-15T10:00:00+00:00"
    assert session.metadata == {"seats": 3}
    assert session.return_url == "https://app.example.com/account"
    assert session.locale == "zh-hans"


def _tamper(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    *parents, leaf = path.split(".")
    target = changed
    for key in parents:
        target = target[key]
    target[leaf] = value
    return changed


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("customer.id", "cus_2"),
        ("customer.email", "mallory@example.com"),
        ("customer.name", "Mallory"),
        ("subscription.id", "sub_SOMEONE_ELSES"),
        ("subscription.plan", "Enterprise"),
        ("subscription.mrr_cents", 999999),
        ("subscription.currency", "JPY"),
        ("subscription.started_at", "2020-01-01T00:00:00Z"),
        ("metadata", {"stripe_subscription_id": "sub_SOMEONE_ELSES"}),
        ("return_url", "https://evil.example.net/"),
        ("locale", "en"),
        ("timestamp", None),
    ],
)
def test_changing_any_field_of_a_signed_payload_is_refused(
    anon_api: APIClient, workspace: Any, path: str, value: Any
) -> None:
    signed = _signed(workspace)
    body = _decoded(signed["payload"])
    # A later timestamp would keep a captured signature alive for longer.
    tampered = _tamper(body, path, body["timestamp"] + 200 if path == "timestamp" else value)
    assert tampered != body

    response = anon_api.post(
        URL, {**signed, "payload": widget_payload_encode(tampered)}, format="json"
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_signature"
    assert CancelSession.objects.count() == 0


def test_field_boundaries_cannot_shift(anon_api: APIClient, workspace: Any) -> None:
    """Once, customer ``cus_a`` with subscription ``b.c`` signed the same dotted
    message as customer ``cus_a.b`` with subscription ``c``."""
    signed = _signed(
        workspace,
        {"customer": {"id": "cus_a"}, "subscription": {"id": "b.c", "plan": "Pro"}},
    )
    body = _decoded(signed["payload"])
    shifted = {**body, "customer": {"id": "cus_a.b"}, "subscription": {"id": "c", "plan": "Pro"}}

    response = anon_api.post(
        URL, {**signed, "payload": widget_payload_encode(shifted)}, format="json"
    )

    assert response.status_code == 401
    assert CancelSession.objects.count() == 0
    opened = anon_api.post(URL, signed, format="json")
    assert opened.status_code == 201
    session = CancelSession.objects.get()
    assert (session.customer_id, session.subscription_id) == ("cus_a", "b.c")


def test_a_wrong_secret_and_an_unknown_workspace_answer_alike(
    anon_api: APIClient, workspace: Any, other_workspace: Any
) -> None:
    wrong_secret = anon_api.post(URL, _signed(workspace, secret="wis_guess"), format="json")
    other_secret = anon_api.post(
        URL, _signed(workspace, secret=other_workspace.identity_secret), format="json"
    )
    unknown = anon_api.post(
        URL, {**_signed(workspace), "workspace": "ws_0000000000000000"}, format="json"
    )

    assert wrong_secret.status_code == other_secret.status_code == unknown.status_code == 401
    assert wrong_secret.json() == other_secret.json() == unknown.json()
    assert unknown.json()["error"]["code"] == "bad_signature"
    assert CancelSession.objects.count() == 0


@pytest.mark.parametrize(
    ("extra", "value"),
    [
        ("metadata", {"stripe_subscription_id": "sub_SOMEONE_ELSES"}),
        ("return_url", "https://evil.example.net/"),
        ("customer", {"id": "cus_2"}),
        ("auth_hash", "0" * 64),
    ],
)
def test_a_key_beside_the_three_is_refused_by_name(
    anon_api: APIClient, workspace: Any, extra: str, value: Any
) -> None:
    response = anon_api.post(URL, {**_signed(workspace), extra: value}, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert list(error["fields"]) == [extra]
    assert CancelSession.objects.count() == 0


def test_the_old_auth_hash_body_is_refused(anon_api: APIClient, workspace: Any) -> None:
    old = {
        **BODY,
        "workspace": workspace.public_id,
        "timestamp": int(time.time()),
        "auth_hash": "0" * 64,
    }
    response = anon_api.post(URL, old, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert {"payload", "signature", "auth_hash", "customer", "timestamp"} <= set(fields)


@pytest.mark.parametrize(
    ("seconds", "status", "code"),
    [
        (-3600, 401, "signature_expired"),
        (-301, 401, "signature_expired"),
        (-280, 201, None),
        (30, 201, None),
        (90, 401, "signature_in_future"),
    ],
)
def test_the_signature_age_is_bounded(
    anon_api: APIClient, workspace: Any, seconds: int, status: int, code: str | None
) -> None:
    signed = _signed(workspace, timestamp=int(time.time()) + seconds)
    response = anon_api.post(URL, signed, format="json")
    assert response.status_code == status, response.json()
    if code:
        assert response.json()["error"]["code"] == code
        assert CancelSession.objects.count() == 0


def _signed_payload(workspace: Any, payload: str) -> dict[str, str]:
    signature = widget_payload_sign(payload=payload, secret=workspace.identity_secret)
    return {"workspace": workspace.public_id, "payload": payload, "signature": signature}


@pytest.mark.parametrize(
    "payload",
    [
        base64.urlsafe_b64encode(b"{not json").decode(),
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        base64.urlsafe_b64encode("\xff\xfe".encode("latin-1")).decode(),
        "abc",
    ],
)
def test_a_signed_payload_that_does_not_decode_is_a_400(
    anon_api: APIClient, workspace: Any, payload: str
) -> None:
    response = anon_api.post(URL, _signed_payload(workspace, payload), format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["payload"]


def test_a_payload_outside_the_base64url_alphabet_is_a_400(
    anon_api: APIClient, workspace: Any
) -> None:
    payload = base64.standard_b64encode(b'{"a": "???>>>"}').decode()
    assert "+" in payload or "/" in payload
    response = anon_api.post(URL, _signed_payload(workspace, payload), format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["payload"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"customer": {"id": "c"}, "subscription": {"id": "s", "plan": "x" * 101}},
            "payload.subscription.plan",
        ),
        (
            {"customer": {"id": "c", "email": "no"}, "subscription": {"id": "s"}},
            "payload.customer.email",
        ),
        ({"subscription": {"id": "s"}}, "payload.customer"),
        (
            {"customer": {"id": "c"}, "subscription": {"id": "s"}, "return_url": "javascript:x"},
            "payload.return_url",
        ),
    ],
)
def test_an_invalid_field_inside_the_payload_is_named(
    anon_api: APIClient, workspace: Any, body: dict[str, Any], field: str
) -> None:
    response = anon_api.post(URL, _signed(workspace, body), format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert list(error["fields"]) == [field]
    assert CancelSession.objects.count() == 0


def test_a_payload_without_a_timestamp_is_named(anon_api: APIClient, workspace: Any) -> None:
    payload = widget_payload_encode(BODY)
    response = anon_api.post(URL, _signed_payload(workspace, payload), format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["payload.timestamp"]


def test_idempotency_key_holds_across_a_fresh_signature(
    anon_api: APIClient, workspace: Any
) -> None:
    headers = {"HTTP_IDEMPOTENCY_KEY": "widget-cancel-1"}
    now = int(time.time())
    first = anon_api.post(URL, _signed(workspace, timestamp=now - 10), format="json", **headers)
    again = anon_api.post(URL, _signed(workspace, timestamp=now), format="json", **headers)
    other = _tamper(BODY, "customer.email", "someone@example.com")
    reused = anon_api.post(URL, _signed(workspace, other), format="json", **headers)

    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert reused.status_code == 409
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    assert CancelSession.objects.count() == 1


def _readme_python_snippet() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    return next(block for block in blocks if "def widget_identity(" in block)


def test_the_readme_python_snippet_signs_what_the_endpoint_accepts(
    anon_api: APIClient, workspace: Any
) -> None:
    namespace: dict[str, Any] = {}
    exec(_readme_python_snippet(), namespace)  # the README itself, run as written
    body = namespace["widget_identity"](workspace.public_id, workspace.identity_secret, BODY)

    response = anon_api.post(URL, body, format="json")

    assert response.status_code == 201, response.json()
    assert CancelSession.objects.get().customer_email == "ada@example.com"


@pytest.mark.parametrize(
    "metadata",
    [{"note": "a\u0000b"}, {"note": "\ud800"}, {"a\u0000": 1}],
    ids=["nul", "surrogate", "key"],
)
def test_text_postgresql_cannot_store_inside_the_payload_is_a_400(
    anon_api: APIClient, workspace: Any, metadata: dict[str, Any]
) -> None:
    """The payload is decoded here, not by the API's JSON parser: its refusal of
    NUL and lone surrogates must hold inside it too."""
    # Escaped as a host's JSON library writes them (a lone surrogate has no UTF-8).
    body = json.dumps({**BODY, "metadata": metadata, "timestamp": int(time.time())})
    payload = base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")
    response = anon_api.post(URL, _signed_payload(workspace, payload), format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == ["payload.metadata"]
    assert CancelSession.objects.count() == 0
