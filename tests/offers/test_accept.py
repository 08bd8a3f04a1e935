"""Accepting an offer: the terms stored and sent, and every bad request refused
with a clear 4xx while the session keeps one correct outcome."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from alerts.models import Alert
from alerts.services import routing_defaults_create
from outbound.models import Delivery, OutboxEvent
from surveys.models import CancelSession, Outcome, SessionStatus
from surveys.services import session_answer
from tests.factories import make_offer
from tests.offers.conftest import open_session
from tests.queries import max_queries
from tests.readable import plain


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("outbound.services.task_queue", lambda *args, **kwargs: None)


@pytest.fixture
def pause(workspace):
    return make_offer(
        workspace, name="Pause", kind="pause", terms={"max_months": 3}, categories=["not_needed"]
    )


def flow(session: CancelSession, step: str) -> str:
    return f"/api/v1/flow/{session.token}/{step}"


def offered(workspace, reason: str = "not_using", **kwargs) -> CancelSession:
    session = open_session(workspace, **kwargs)
    session_answer(token=session.token, reason_code=reason)
    session.refresh_from_db()
    return session


def test_pause_with_chosen_months_is_stored_and_sent(anon_api: APIClient, workspace, pause) -> None:
    session = offered(workspace)
    shown = APIClient().get(f"/api/v1/flow/{session.token}").json()["offer"]
    assert [c["months"] for c in shown["pause_choices"]] == [1, 2, 3]
    with max_queries(5):
        response = anon_api.post(
            flow(session, "accept"), {"offer": pause.pk, "months": 2}, format="json"
        )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["state"] == {"status": "completed", "outcome": "saved", "kept": False}
    assert body["offer"]["terms"]["resumes_on"] == "2027-02-22"
    session.refresh_from_db()
    assert session.accepted_terms == {
        "kind": "pause",
        "max_months": 3,
        "months": 2,
        "starts_on": "2026-12-22",
        "resumes_on": "2027-02-22",
    }
    payload = OutboxEvent.objects.get(subject_id=session.pk).payload
    assert payload["data"]["offer"]["terms"] == {
        "max_months": 3,
        "months": 2,
        "starts_on": "2026-12-22",
        "resumes_on": "2027-02-22",
    }
    assert payload["data"]["offer"]["accepted"] is True


def test_discount_terms_carry_the_end_date(anon_api, workspace) -> None:
    offer = make_offer(workspace)
    session = offered(workspace, reason="too_expensive")
    anon_api.post(flow(session, "accept"), {"offer": offer.pk}, format="json")
    terms = OutboxEvent.objects.get(subject_id=session.pk).payload["data"]["offer"]["terms"]
    assert terms == {
        "percent": 30,
        "months": 3,
        "starts_on": "2026-12-22",
        "ends_on": "2027-03-22",
        "then_price_cents": 4900,
        "currency": "USD",
    }


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({}, "months_required"),
        ({"months": 0}, "months_out_of_range"),
        ({"months": 4}, "months_out_of_range"),
        ({"months": None}, "months_required"),
    ],
)
def test_pause_length_missing_or_out_of_bounds(anon_api, workspace, pause, payload, code) -> None:
    session = offered(workspace)
    response = anon_api.post(flow(session, "accept"), {"offer": pause.pk, **payload}, format="json")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code
    assert "months" in response.json()["error"]["fields"]
    session.refresh_from_db()
    assert session.status == SessionStatus.OFFERED and session.accepted_terms == {}


def test_months_for_an_offer_without_them_is_refused(anon_api, workspace) -> None:
    offer = make_offer(workspace)
    session = offered(workspace, reason="too_expensive")
    response = anon_api.post(
        flow(session, "accept"), {"offer": offer.pk, "months": 2}, format="json"
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "months_not_applicable"


def test_months_must_be_a_number(anon_api, workspace, pause) -> None:
    session = offered(workspace)
    response = anon_api.post(
        flow(session, "accept"), {"offer": pause.pk, "months": "two"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_an_offer_not_shown_is_refused(anon_api, workspace, pause) -> None:
    other = make_offer(workspace, name="Other")
    session = offered(workspace)
    response = anon_api.post(flow(session, "accept"), {"offer": other.pk}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "offer_not_shown"
    never = open_session(workspace)  # not answered: nothing shown at all
    response = anon_api.post(flow(never, "accept"), {"offer": pause.pk, "months": 1}, format="json")
    assert response.status_code == 409
    session.refresh_from_db()
    assert session.outcome == ""


def test_twice_is_fine_but_different_terms_conflict(anon_api, workspace, pause) -> None:
    other = make_offer(workspace, name="Other")
    session = offered(workspace)
    first = anon_api.post(flow(session, "accept"), {"offer": pause.pk, "months": 2}, format="json")
    again = anon_api.post(flow(session, "accept"), {"offer": pause.pk, "months": 2}, format="json")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    longer = anon_api.post(flow(session, "accept"), {"offer": pause.pk, "months": 3}, format="json")
    assert longer.status_code == 409
    assert longer.json()["error"]["code"] == "offer_already_accepted"
    another = anon_api.post(flow(session, "accept"), {"offer": other.pk}, format="json")
    assert another.status_code == 409
    session.refresh_from_db()
    assert session.outcome == Outcome.SAVED and session.accepted_terms["months"] == 2
    assert OutboxEvent.objects.filter(subject_id=session.pk).count() == 1


def test_after_cancelling_or_expiry(anon_api, workspace, pause) -> None:
    cancelled = offered(workspace)
    anon_api.post(flow(cancelled, "cancel"))
    late = anon_api.post(flow(cancelled, "accept"), {"offer": pause.pk, "months": 1}, format="json")
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "session_completed"
    cancelled.refresh_from_db()
    assert cancelled.outcome == Outcome.CANCELLED

    expired = offered(workspace)
    CancelSession.objects.filter(pk=expired.pk).update(
        token_expires_at=timezone.now() - timedelta(seconds=1)
    )
    gone = anon_api.post(flow(expired, "accept"), {"offer": pause.pk, "months": 1}, format="json")
    assert gone.status_code == 410
    assert gone.json()["error"]["code"] == "session_expired"
    expired.refresh_from_db()
    assert expired.outcome == "" and expired.status == SessionStatus.OFFERED


def test_a_support_acceptance_reaches_the_support_team(
    workspace, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    monkeypatch.undo()  # run the fan-out (in-process) for this test
    routing_defaults_create(workspace=workspace, email_domain="example.com")
    offer = make_offer(
        workspace, name="Call me", kind="support", terms={}, categories=["product_quality"]
    )
    session = offered(workspace, reason="quality")
    with django_capture_on_commit_callbacks(execute=True):
        APIClient().post(flow(session, "accept"), {"offer": offer.pk}, format="json")
    teams = set(Alert.objects.filter(session=session).values_list("team__name", flat=True))
    assert "Support" in teams
    session.refresh_from_db()
    assert session.accepted_terms == {"kind": "support", "callback_requested": True}
    # The support team's alert says what the customer asked for.
    from alerts.content import alert_context

    alert = Alert.objects.get(session=session, team__name="Support")
    assert alert_context(alert)["offer"] == (
        "Accepted: Call me (Our team will get in touch with you soon)"
    )


def test_confirmation_email_goes_through_deliveries(
    workspace, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    monkeypatch.undo()
    workspace.send_confirmation_email = True
    workspace.compliance_mode = True
    workspace.save(update_fields=["send_confirmation_email", "compliance_mode"])
    session = open_session(workspace, email="ada@example.com", locale="en")
    with django_capture_on_commit_callbacks(execute=True):
        APIClient().post(flow(session, "cancel"))
    delivery = Delivery.objects.get(event__subject_id=session.pk, kind="customer_email")
    assert delivery.status == "sent" and delivery.attempts == 1
    assert delivery.attempt_log.get().ok
    sent = [m for m in mail.outbox if m.to == ["ada@example.com"]]
    assert len(sent) == 1
    assert "Your cancellation is confirmed" in sent[0].subject
    assert "Your contract ends on December 22, 2026." in plain(sent[0].body)


def test_no_confirmation_email_unless_enabled(workspace, pause) -> None:
    session = offered(workspace)
    APIClient().post(flow(session, "accept"), {"offer": pause.pk, "months": 1}, format="json")
    assert not Delivery.objects.filter(kind="customer_email").exists()


def test_a_failing_mailbox_is_retried_and_recorded(workspace, monkeypatch, pause) -> None:
    from outbound.services import delivery_attempt

    workspace.send_confirmation_email = True
    workspace.save(update_fields=["send_confirmation_email"])
    session = offered(workspace)
    APIClient().post(flow(session, "accept"), {"offer": pause.pk, "months": 3}, format="json")
    delivery = Delivery.objects.get(kind="customer_email")

    def broken(*args, **kwargs):
        raise OSError("connection refused")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", broken)
    assert delivery_attempt(delivery_id=delivery.pk) == "retry"
    delivery.refresh_from_db()
    assert "connection refused" in delivery.last_error
    monkeypatch.undo()
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert delivery_attempt(delivery_id=delivery.pk) == "sent"
    body = plain(mail.outbox[-1].body)
    assert "You accepted: Pause." in body
    assert "Paused for 3 months, until March 22, 2027" in body and "up to" not in body


@pytest.mark.parametrize(
    ("locale", "subject", "said"),
    [
        ("de", "Schön, dass Sie bleiben", ["Pausiert für 2 Monate, bis zum 22. Februar 2027"]),
        ("zh-hans", "感谢您继续使用", ["暂停 2 个月，至 2027年2月22日"]),
    ],
)
def test_the_confirmation_email_speaks_the_customers_language(
    workspace, monkeypatch, pause, django_capture_on_commit_callbacks, locale, subject, said
) -> None:
    monkeypatch.undo()
    workspace.send_confirmation_email = True
    workspace.save(update_fields=["send_confirmation_email"])
    session = offered(workspace, email="ada@example.com", locale=locale)
    with django_capture_on_commit_callbacks(execute=True):
        APIClient().post(flow(session, "accept"), {"offer": pause.pk, "months": 2}, format="json")
    [sent] = [m for m in mail.outbox if m.to == ["ada@example.com"]]
    assert subject in sent.subject
    body = plain(sent.body)
    for words in said:
        assert words in body
    html = plain(sent.alternatives[0][0])
    for words in said:
        assert words in html
