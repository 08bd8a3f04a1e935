from __future__ import annotations

import json
from typing import Any

import pytest

from tests.privacy.conftest import (
    CUSTOMER,
    EMAIL,
    META,
    NAME,
    NOTE,
    RETURN_URL,
    WORDS_CANCELLED,
    WORDS_SAVED,
    Held,
)

pytestmark = pytest.mark.django_db


def test_export_holds_everything_about_the_customer_and_nobody_else(
    held: Held, api: Any, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(12):
        response = api.get(f"/api/v1/customers/{CUSTOMER}/export")

    assert response.status_code == 200
    body = response.json()
    assert (body["customer_id"], body["workspace"]) == (CUSTOMER, "acme")
    saved, cancelled = body["sessions"]
    assert [saved["id"], cancelled["id"]] == [str(held.saved.pk), str(held.cancelled.pk)]
    assert saved["customer"] == {"id": CUSTOMER, "email": EMAIL, "name": NAME}
    assert saved["return_url"] == RETURN_URL and saved["metadata"]["segment"] == META
    assert saved["subscription"]["id"] == "sub_A1"
    assert saved["answer"]["text"] == WORDS_SAVED and saved["answer"]["category"] == "price"
    assert cancelled["answer"]["text"] == WORDS_CANCELLED
    # The offer shown and accepted, with its terms as applied.
    offer = saved["offer"]
    assert offer["accepted"] is True and offer["kind"] == "discount_percent"
    assert offer["terms"] == {"percent": 30, "months": 3}
    assert offer["accepted_terms"]["percent"] == 30 and offer["shown_at"]
    assert cancelled["offer"] is None and cancelled["outcome"] == "cancelled"
    # The alert, its inbox note and its change.
    (alert,) = saved["alerts"]
    assert alert["team"] == "Success" and alert["status"] == "contacted"
    assert NOTE in alert["notes"]
    assert alert["changes"][0]["note"] == NOTE and alert["changes"][0]["by"] == "sam"
    # The outcome event as sent, each delivery and every attempt.
    (event,) = saved["events"]
    assert event["type"] == "session.completed"
    assert event["payload"]["data"]["customer"]["email"] == EMAIL
    kinds = {d["kind"]: d for d in event["deliveries"]}
    assert set(kinds) == {"email", "endpoint", "customer_email"}
    assert kinds["endpoint"]["status"] == "retry"
    assert [a["status_code"] for a in kinds["endpoint"]["attempts"]] == [500]
    assert kinds["email"]["alert"] == alert["id"]
    assert NAME in kinds["email"]["attempts"][0]["error"]  # what the receiver echoed
    (waiting,) = cancelled["events"]
    assert [d["kind"] for d in waiting["deliveries"]] == ["customer_email"]
    # Nobody else: the neighbour, and the other workspace's customer of the same id.
    text = json.dumps(body, ensure_ascii=False)
    assert "Neighbour" not in text and "cus_neighbour" not in text
    assert "Other Erin" not in text and "Namesake words" not in text


def test_export_matches_its_documented_schema(held: Held, api: Any) -> None:
    schema = api.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/customers/{customer_id}/export"]["get"]
    assert {"200", "401", "404"} <= set(operation["responses"])
    documented = schema["components"]["schemas"]["ExportSessionOut"]["properties"]
    body = api.get(f"/api/v1/customers/{CUSTOMER}/export").json()
    assert set(body["sessions"][0]) == set(documented)
    erase = schema["paths"]["/api/v1/customers/{customer_id}"]["delete"]
    assert {"200", "401", "404"} <= set(erase["responses"])


def test_after_erasure_there_is_nothing_to_export(held: Held, api: Any) -> None:
    assert api.delete(f"/api/v1/customers/{CUSTOMER}").status_code == 200
    response = api.get(f"/api/v1/customers/{CUSTOMER}/export")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "customer_not_found"
