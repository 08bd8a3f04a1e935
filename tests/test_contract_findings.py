"""Server errors the contract run (tests/integration/test_contract.py) found: each is
now a 4xx that names the field, as the OpenAPI document says."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from analytics.models import SubscriberCount
from surveys.models import CancelSession

SESSION = {
    "customer": {"id": "cus_1"},
    "subscription": {"id": "sub_1", "plan": "Pro", "mrr_cents": 4900},
}


@pytest.mark.parametrize(
    "metadata",
    [{"note": "a\u0000b"}, {"a\u0000": 1}, {"nested": ["\udab8"]}],
    ids=["nul-value", "nul-key", "lone-surrogate"],
)
def test_metadata_that_cannot_be_stored_is_refused(api, metadata) -> None:
    body = json.dumps({**SESSION, "metadata": metadata})  # \u escapes, as a client sends them
    response = api.post("/api/v1/sessions", body, content_type="application/json")
    assert response.status_code == 400
    assert all(name.startswith("metadata") for name in response.json()["error"]["fields"])
    assert not CancelSession.objects.exists()


def test_metadata_with_astral_characters_is_kept(api) -> None:
    response = api.post("/api/v1/sessions", {**SESSION, "metadata": {"m": "日本😀"}}, format="json")
    assert response.status_code == 201
    assert CancelSession.objects.get().metadata == {"m": "日本😀"}


def test_a_subscriber_count_beyond_the_column_is_refused(api) -> None:
    response = api.post(
        "/api/v1/metrics/subscribers",
        {"date": "2026-01-01", "active": 2**31, "new": 0},
        format="json",
    )
    assert response.status_code == 400
    assert "active" in response.json()["error"]["fields"]
    assert not SubscriberCount.objects.exists()


@pytest.mark.parametrize("method", ["post", "delete", "put"])
def test_an_unknown_api_path_is_json_404_for_every_method(api_key, method) -> None:
    # Not Django's CSRF page: an API client has no CSRF token (a negative id is such a path).
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    response = getattr(client, method)("/api/v1/experiments/-1/stop", {}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_rule_with_numbers_beyond_its_columns_is_refused(api) -> None:
    for field, value in [("max_tenure_days", 10004154966969372672), ("min_mrr_cents", 2**63)]:
        response = api.post("/api/v1/offer-rules", {"name": "Big", field: value}, format="json")
        assert response.status_code == 400
        assert field in response.json()["error"]["fields"]


def test_a_rule_with_metadata_that_cannot_be_stored_is_refused(api) -> None:
    body = json.dumps({"name": "NUL", "metadata": {"plan": "a\u0000"}})
    response = api.post("/api/v1/offer-rules", body, content_type="application/json")
    assert response.status_code == 400
    assert all(name.startswith("metadata") for name in response.json()["error"]["fields"])


@pytest.mark.parametrize("path", ["/api/v1/exports/sessions.csv", "/api/v1/analytics/funnel"])
def test_an_analytics_filter_with_nul_is_refused(api, path) -> None:
    response = api.get(path, {"plan": "Pro\u0000"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert list(response.json()["error"]["fields"]) == ["plan"]
