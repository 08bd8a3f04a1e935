"""Idempotency-Key on opening a session: a repeat answers as the first request
did; the same key with another body is always a 409."""

from __future__ import annotations

import importlib
from typing import Any

from django.apps import apps
from rest_framework.test import APIClient

from surveys.models import CancelSession, SessionIdempotencyKey
from surveys.services import session_cancel

KEY = {"HTTP_IDEMPOTENCY_KEY": "cancel-1"}


def _body(subscription: str, email: str = "ada@example.com") -> dict[str, Any]:
    return {
        "customer": {"id": "cus_1", "email": email},
        "subscription": {"id": subscription, "plan": "Pro", "mrr_cents": 4900},
    }


def test_a_key_first_used_on_an_open_session_still_refuses_another_body(
    api: APIClient,
) -> None:
    opened = api.post("/api/v1/sessions", _body("sub_1"), format="json").json()

    found = api.post("/api/v1/sessions", _body("sub_1"), format="json", **KEY)
    other = api.post("/api/v1/sessions", _body("sub_2"), format="json", **KEY)
    repeat = api.post("/api/v1/sessions", _body("sub_1"), format="json", **KEY)

    assert found.status_code == 200 and found.json()["id"] == opened["id"]
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert repeat.status_code == 200 and repeat.json()["id"] == opened["id"]
    assert not CancelSession.objects.filter(subscription_id="sub_2").exists()


def test_a_changed_email_with_the_same_key_is_a_409(api: APIClient) -> None:
    first = api.post("/api/v1/sessions", _body("sub_1"), format="json", **KEY)
    other = api.post(
        "/api/v1/sessions", _body("sub_1", email="eve@example.com"), format="json", **KEY
    )
    assert first.status_code == 201
    assert other.status_code == 409
    assert "token" not in other.json()


def test_a_repeat_after_the_session_finished_returns_it_again(api: APIClient) -> None:
    first = api.post("/api/v1/sessions", _body("sub_1"), format="json", **KEY).json()
    session_cancel(token=first["token"])

    repeat = api.post("/api/v1/sessions", _body("sub_1"), format="json", **KEY)

    assert repeat.status_code == 201
    assert repeat.json()["id"] == first["id"]
    assert CancelSession.objects.count() == 1


def test_keys_of_sessions_opened_before_the_table_are_carried_over(api: APIClient) -> None:
    first = api.post("/api/v1/sessions", _body("sub_1"), format="json", **KEY).json()
    SessionIdempotencyKey.objects.all().delete()  # as before migration 0009
    migration = importlib.import_module("surveys.migrations.0009_session_idempotency_key")

    migration.keys_from_sessions(apps, None)

    repeat = api.post("/api/v1/sessions", _body("sub_1"), format="json", **KEY)
    other = api.post("/api/v1/sessions", _body("sub_2"), format="json", **KEY)
    assert repeat.status_code == 201 and repeat.json()["id"] == first["id"]
    assert other.status_code == 409
