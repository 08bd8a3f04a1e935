"""Offers, targeting rules and experiments over the API, with clear 4xx errors."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from offers.models import Experiment, Offer, OfferRule
from surveys.services import session_answer
from tests.factories import make_api_key, make_offer
from tests.offers.conftest import open_session


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("outbound.services.task_queue", lambda *args, **kwargs: None)


@pytest.fixture
def api(workspace) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(workspace)}")
    return client


def test_create_an_offer_and_a_rule_then_the_flow_uses_them(api, workspace) -> None:
    made = api.post(
        "/api/v1/offers",
        {"name": "Pause", "kind": "pause", "terms": {"max_months": 2}, "copy": {}},
        format="json",
    )
    assert made.status_code == 201, made.json()
    rule = api.post(
        "/api/v1/offer-rules",
        {"name": "Idle", "offer": made.json()["id"], "categories": ["not_needed"], "priority": 5},
        format="json",
    )
    assert rule.status_code == 201, rule.json()
    session = open_session(workspace)
    assert (
        session_answer(token=session.token, reason_code="not_using").offer_id == made.json()["id"]
    )
    assert [r["name"] for r in api.get("/api/v1/offer-rules").json()] == ["Idle"]
    assert api.get("/api/v1/offers").json()[0]["kind"] == "pause"


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"name": "x", "kind": "pause", "terms": {"max_months": 99}}, 422, "invalid"),
        ({"name": "x", "kind": "bogus"}, 400, "validation_error"),
    ],
)
def test_bad_offers(api, payload, status, code) -> None:
    response = api.post("/api/v1/offers", payload, format="json")
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert not Offer.objects.exists()


def test_contradictory_rule_is_a_clear_422(api, workspace) -> None:
    offer = make_offer(workspace, categories=None)
    response = api.post(
        "/api/v1/offer-rules",
        {"name": "Bad", "offer": offer.pk, "min_tenure_days": 400, "max_tenure_days": 30},
        format="json",
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_rule"
    assert "max_tenure_days" in error["fields"]
    assert "no session could match" in error["message"]
    assert not OfferRule.objects.exists()


def test_rule_with_unknown_targets(api, workspace, other_workspace) -> None:
    theirs = make_offer(other_workspace, categories=None)
    response = api.post("/api/v1/offer-rules", {"name": "x", "offer": theirs.pk}, format="json")
    assert response.status_code == 422 and response.json()["error"]["code"] == "unknown_offer"
    response = api.post("/api/v1/offer-rules", {"name": "x", "experiment": 999}, format="json")
    assert response.status_code == 422
    response = api.post("/api/v1/offer-rules", {"name": "x", "plans": "Pro"}, format="json")
    assert response.status_code == 400


def test_create_an_experiment(api, workspace) -> None:
    offer = make_offer(workspace, categories=None)
    made = api.post(
        "/api/v1/experiments",
        {
            "name": "Depth",
            "variants": [
                {"name": "30%", "offer": offer.pk, "weight": 1},
                {"name": "Control", "offer": None, "weight": 1},
            ],
        },
        format="json",
    )
    assert made.status_code == 201, made.json()
    assert [v["is_control"] for v in made.json()["variants"]] == [False, True]
    one = api.post(
        "/api/v1/experiments",
        {"name": "Lonely", "variants": [{"name": "a", "offer": None}]},
        format="json",
    )
    assert one.status_code == 422
    unknown = api.post(
        "/api/v1/experiments",
        {"name": "x", "variants": [{"name": "a", "offer": 999}, {"name": "b", "offer": None}]},
        format="json",
    )
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_offer"
    assert Experiment.objects.count() == 1
