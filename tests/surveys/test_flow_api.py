from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from surveys.models import CancelSession, Outcome, Response, SessionStatus
from tests.factories import make_offer, make_session
from tests.queries import max_queries


@pytest.fixture
def offer(workspace):
    return make_offer(workspace)


@pytest.fixture
def session(workspace):
    return make_session(workspace, locale="en")


def flow(session: CancelSession, step: str = "") -> str:
    return f"/api/v1/flow/{session.token}" + (f"/{step}" if step else "")


def test_state_is_localised(anon_api: APIClient, workspace) -> None:
    session = make_session(workspace, locale="zh-Hans")
    data = anon_api.get(flow(session)).json()
    assert data["session"]["locale"] == "zh-hans"
    assert data["survey"]["question"] == "您为什么要取消订阅？"
    labels = {r["code"]: r["label"] for r in data["survey"]["reasons"]}
    assert labels["too_expensive"] == "价格太贵了"
    assert {r["category"] for r in data["survey"]["reasons"]} >= {"price", "competitor", "other"}
    english = anon_api.get(flow(session) + "?locale=en").json()
    assert english["survey"]["question"] == "Why are you cancelling?"


def test_accept_language_is_used_when_the_session_has_no_locale(anon_api, workspace) -> None:
    session = make_session(workspace)
    data = anon_api.get(flow(session), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").json()
    assert data["session"]["locale"] == "zh-hans"


def test_price_answer_gets_the_discount_and_accepting_saves(anon_api, session, offer) -> None:
    answered = anon_api.post(
        flow(session, "answer"), {"reason": "too_expensive", "text": " Too pricey "}, format="json"
    )
    assert answered.status_code == 200, answered.json()
    body = answered.json()
    assert body["state"] == {"status": "offered", "outcome": "", "kept": False}
    assert body["offer"]["id"] == offer.pk
    assert body["offer"]["terms"] == {"percent": 30, "months": 3}
    assert body["offer"]["terms_text"] == "30% off your next 3 months"
    assert Response.objects.get(session=session).text == "Too pricey"

    accepted = anon_api.post(flow(session, "accept"), {"offer": offer.pk}, format="json")
    assert accepted.status_code == 200
    assert accepted.json()["state"] == {"status": "completed", "outcome": "saved", "kept": False}
    again = anon_api.post(flow(session, "accept"), {"offer": offer.pk}, format="json")
    assert again.status_code == 200
    session.refresh_from_db()
    assert session.outcome == Outcome.SAVED
    cancel_after = anon_api.post(flow(session, "cancel"))
    assert cancel_after.status_code == 409
    assert cancel_after.json()["error"]["code"] == "session_completed"
    session.refresh_from_db()
    assert session.outcome == Outcome.SAVED


def test_no_offer_for_other_categories(anon_api, session, offer) -> None:
    body = anon_api.post(flow(session, "answer"), {"reason": "switching"}, format="json").json()
    assert body == {"offer": None, "state": {"status": "answered", "outcome": "", "kept": False}}
    refused = anon_api.post(flow(session, "accept"), {"offer": offer.pk}, format="json")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "offer_not_shown"


def test_at_most_one_offer_even_when_the_answer_changes(anon_api, session, offer, workspace):
    pause = make_offer(
        workspace, name="Pause", kind="pause", terms={"max_months": 3}, categories=["not_needed"]
    )
    first = anon_api.post(flow(session, "answer"), {"reason": "too_expensive"}, format="json")
    second = anon_api.post(flow(session, "answer"), {"reason": "not_using"}, format="json")
    assert first.json()["offer"]["id"] == offer.pk
    assert second.json()["offer"]["id"] == offer.pk  # not the pause: one offer per session
    assert pause.pk != offer.pk
    assert Response.objects.get(session=session).reason_code == "not_using"


def test_cancel_without_answering_and_repeat(anon_api, session) -> None:
    first = anon_api.post(flow(session, "cancel"))
    second = anon_api.post(flow(session, "cancel"))
    assert first.status_code == second.status_code == 200
    assert second.json()["state"] == {"status": "completed", "outcome": "cancelled", "kept": False}
    session.refresh_from_db()
    assert session.completed_at is not None
    late = anon_api.post(flow(session, "answer"), {"reason": "too_expensive"}, format="json")
    assert late.status_code == 409


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"reason": "nope"}, 422, "unknown_reason"),
        ({"reason": "too_expensive", "text": "x" * 2001}, 422, "text_too_long"),
        ({}, 400, "validation_error"),
        ({"reason": ["a"]}, 400, "validation_error"),
    ],
)
def test_bad_answers(anon_api, session, payload, status, code) -> None:
    response = anon_api.post(flow(session, "answer"), payload, format="json")
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    session.refresh_from_db()
    assert session.status == SessionStatus.STARTED
    assert not Response.objects.filter(session=session).exists()


def test_malformed_json_on_the_flow(anon_api, session) -> None:
    response = anon_api.post(flow(session, "answer"), "{", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"


def test_unknown_and_expired_tokens(anon_api, session) -> None:
    assert anon_api.get("/api/v1/flow/not-a-token").status_code == 404
    missing = anon_api.post("/api/v1/flow/not-a-token/cancel")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "session_not_found"
    CancelSession.objects.filter(pk=session.pk).update(
        token_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert anon_api.get(flow(session)).status_code == 410
    expired = anon_api.post(flow(session, "answer"), {"reason": "too_expensive"}, format="json")
    assert expired.status_code == 410
    assert expired.json()["error"]["code"] == "session_expired"
    assert anon_api.post(flow(session, "cancel")).status_code == 410


def test_completed_session_state_is_still_readable(anon_api, session) -> None:
    anon_api.post(flow(session, "cancel"))
    data = anon_api.get(flow(session)).json()
    assert data["session"]["status"] == "completed"
    assert data["session"]["outcome"] == "cancelled"


# --- query budget: each flow request does at most 5 queries ------------------------


@pytest.mark.django_db(transaction=True)
def test_flow_query_counts(monkeypatch) -> None:
    """The request's own queries; what it queues (alert fan-out) runs in a worker."""
    from tests.factories import make_workspace

    queued: list[str] = []
    monkeypatch.setattr(
        "outbound.services.task_queue", lambda task, *args, **kw: queued.append(task.name)
    )

    workspace = make_workspace()
    offer = make_offer(workspace)
    session = make_session(workspace, locale="en")
    client = APIClient()
    with max_queries(5):
        assert client.get(flow(session)).status_code == 200
    with max_queries(5):
        response = client.post(flow(session, "answer"), {"reason": "too_expensive"}, format="json")
        assert response.status_code == 200
    with max_queries(5):
        assert (
            client.post(flow(session, "accept"), {"offer": offer.pk}, format="json").status_code
            == 200
        )
    other = make_session(workspace)
    with max_queries(5):
        assert client.post(flow(other, "cancel")).status_code == 200
    assert queued == ["alerts.tasks.outbox_dispatch"] * 2  # one per outcome
