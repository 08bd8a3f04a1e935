from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from surveys.models import CancelSession, SessionStatus
from surveys.services import session_cancel

BODY: dict[str, Any] = {
    "customer": {"id": "cus_1", "email": "ada@example.com", "name": "Ada"},
    "subscription": {"id": "sub_1", "plan": "Pro", "mrr_cents": 4900, "currency": "usd"},
    "locale": "zh-CN",
    "return_url": "https://app.example.com/account",
    "metadata": {"seats": 3},
}


def test_open_session_returns_token_url_and_expiry(api: APIClient) -> None:
    response = api.post("/api/v1/sessions", BODY, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert set(data) == {"id", "token", "url", "status", "expires_at"}
    assert data["status"] == "started"
    assert data["url"].endswith(f"/c/{data['token']}/")
    assert len(data["token"]) >= 40
    session = CancelSession.objects.get(pk=data["id"])
    assert session.locale == "zh-hans"
    assert session.currency == "USD"
    assert session.metadata == {"seats": 3}


def test_opening_again_returns_the_open_session(api: APIClient) -> None:
    first = api.post("/api/v1/sessions", BODY, format="json").json()
    again = api.post("/api/v1/sessions", BODY, format="json")
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert CancelSession.objects.count() == 1


def test_a_finished_session_lets_a_new_one_open(api: APIClient) -> None:
    first = api.post("/api/v1/sessions", BODY, format="json").json()
    session_cancel(token=first["token"])
    second = api.post("/api/v1/sessions", BODY, format="json")
    assert second.status_code == 201
    assert second.json()["id"] != first["id"]


def test_idempotency_key_replays_and_detects_reuse(api: APIClient) -> None:
    headers = {"HTTP_IDEMPOTENCY_KEY": "key-123"}
    first = api.post("/api/v1/sessions", BODY, format="json", **headers)
    replay = api.post("/api/v1/sessions", BODY, format="json", **headers)
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    changed = {**BODY, "subscription": {**BODY["subscription"], "id": "sub_2"}}
    reused = api.post("/api/v1/sessions", changed, format="json", **headers)
    assert reused.status_code == 409
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    assert CancelSession.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"subscription": {"id": "s"}}, "customer"),
        ({"customer": {"id": "c"}}, "subscription"),
        ({"customer": {"id": "c"}, "subscription": {"id": "s", "mrr_cents": -1}}, "subscription"),
        ({"customer": {"id": "c", "email": "no"}, "subscription": {"id": "s"}}, "customer"),
        (
            {"customer": {"id": "c"}, "subscription": {"id": "s"}, "return_url": "javascript:x"},
            "return_url",
        ),
        ({"customer": {"id": "c"}, "subscription": {"id": "s"}, "metadata": [1]}, "metadata"),
    ],
)
def test_bad_bodies_name_the_field(api: APIClient, body: dict, field: str) -> None:
    response = api.post("/api/v1/sessions", body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["fields"]
    assert CancelSession.objects.count() == 0


def test_malformed_json_is_a_clear_400(api: APIClient) -> None:
    response = api.post("/api/v1/sessions", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"


def test_list_filters_and_paginates(api: APIClient, workspace) -> None:
    tokens = []
    for n in range(5):
        body = {**BODY, "subscription": {"id": f"sub_{n}"}}
        tokens.append(api.post("/api/v1/sessions", body, format="json").json()["token"])
    session_cancel(token=tokens[0])
    page = api.get("/api/v1/sessions?limit=2").json()
    assert len(page["results"]) == 2
    assert page["next"]
    rest = api.get(page["next"]).json()
    assert len(rest["results"]) == 2
    completed = api.get("/api/v1/sessions?status=completed").json()["results"]
    assert [item["outcome"] for item in completed] == ["cancelled"]
    assert api.get("/api/v1/sessions?since=yesterday").status_code == 400
    assert api.get("/api/v1/sessions?status=weird").status_code == 400


def test_get_one_session_shows_the_answer(api: APIClient) -> None:
    created = api.post("/api/v1/sessions", BODY, format="json").json()
    api.post(
        f"/api/v1/flow/{created['token']}/answer",
        {"reason": "too_expensive", "text": "太贵了"},
        format="json",
    )
    data = api.get(f"/api/v1/sessions/{created['id']}").json()
    assert data["answer"]["category"] == "price"
    assert data["answer"]["label"] == "价格太贵了"
    assert data["customer"]["id"] == "cus_1"
    assert data["status"] == SessionStatus.ANSWERED
