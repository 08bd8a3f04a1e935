"""'Keep my subscription' is an outcome: saved, without an offer, through the flow
API and the hosted pages, with its webhook payload and rollups like any outcome,
and never a second outcome."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from alerts.content import alert_context
from alerts.models import Alert, EventType
from alerts.services import routing_defaults_create
from analytics.selectors import AnalyticsFilters, funnel, offer_performance
from outbound.models import Delivery, OutboxEvent
from surveys.models import CancelSession, Outcome, SessionStatus
from surveys.services import (
    session_accept,
    session_answer,
    session_cancel,
    session_keep,
    sessions_abandon_stale,
)
from tests.factories import UserFactory, make_offer, make_session
from workspaces.services import membership_add


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("outbound.services.task_queue", lambda *args, **kwargs: None)


@pytest.fixture
def offer(workspace: Any) -> Any:
    return make_offer(workspace)


def flow(session: CancelSession, step: str = "") -> str:
    return f"/api/v1/flow/{session.token}" + (f"/{step}" if step else "")


def page(session: CancelSession, step: str = "") -> str:
    return f"/c/{session.token}/" + (f"{step}/" if step else "")


def rollups_check() -> str:
    """What ``rebuild_rollups --check`` reports when it finds a difference ("" if none)."""
    out = StringIO()
    try:
        call_command("rebuild_rollups", "--check", stdout=out)
    except SystemExit:
        return out.getvalue() or "differences"
    return ""


def today() -> AnalyticsFilters:
    day = timezone.now().date()
    return AnalyticsFilters(date_from=day - timedelta(days=1), date_to=day + timedelta(days=1))


# --- the flow API ------------------------------------------------------------------------


def test_keep_without_answering_saves_without_an_offer(anon_api: APIClient, workspace) -> None:
    session = make_session(workspace, locale="en")
    response = anon_api.post(flow(session, "keep"))
    assert response.status_code == 200
    assert response.json() == {
        "offer": None,
        "state": {"status": "completed", "outcome": "saved", "kept": True},
    }
    session.refresh_from_db()
    assert (session.status, session.outcome, session.kept) == ("completed", "saved", True)
    assert session.completed_at is not None and session.accepted_terms == {}
    state = anon_api.get(flow(session)).json()["session"]
    assert (state["outcome"], state["kept"]) == ("saved", True)


def test_keep_after_the_offer_was_shown_declines_it(anon_api, workspace, offer) -> None:
    session = make_session(workspace, locale="en")
    answered = anon_api.post(flow(session, "answer"), {"reason": "too_expensive"}, format="json")
    assert answered.json()["offer"]["id"] == offer.pk
    kept = anon_api.post(flow(session, "keep"))
    assert kept.status_code == 200 and kept.json()["state"]["kept"] is True
    session.refresh_from_db()
    # The offer shown stays on record; nothing was accepted.
    assert session.offer_id == offer.pk and session.accepted_terms == {}

    event = OutboxEvent.objects.get(subject_id=session.pk)
    assert event.event_type == EventType.SESSION_COMPLETED
    data = event.payload["data"]
    assert (data["status"], data["outcome"], data["offer"]) == ("completed", "saved", None)
    assert data["answer"]["reason"] == "too_expensive"

    # Accepting it afterwards is refused; so is cancelling: one outcome only.
    late = anon_api.post(flow(session, "accept"), {"offer": offer.pk}, format="json")
    assert late.status_code == 409
    cancel = anon_api.post(flow(session, "cancel"))
    assert cancel.status_code == 409
    assert cancel.json()["error"]["code"] == "session_completed"
    assert "kept" in cancel.json()["error"]["message"]
    session.refresh_from_db()
    assert (session.outcome, session.kept, session.accepted_terms) == ("saved", True, {})
    assert OutboxEvent.objects.filter(subject_id=session.pk).count() == 1


def test_keeping_twice_answers_the_same_and_records_once(anon_api, workspace) -> None:
    session = make_session(workspace, locale="en")
    first = anon_api.post(flow(session, "keep"))
    second = anon_api.post(flow(session, "keep"))
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert OutboxEvent.objects.filter(subject_id=session.pk).count() == 1


def test_keep_after_cancel_is_a_conflict_naming_the_outcome(anon_api, workspace) -> None:
    session = make_session(workspace, locale="en")
    anon_api.post(flow(session, "cancel"))
    response = anon_api.post(flow(session, "keep"))
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "session_completed" and "cancelled" in error["message"]
    session.refresh_from_db()
    assert (session.outcome, session.kept) == ("cancelled", False)
    assert OutboxEvent.objects.filter(subject_id=session.pk).count() == 1


def test_keep_after_accepting_is_a_conflict(anon_api, workspace, offer) -> None:
    session = make_session(workspace, locale="en")
    anon_api.post(flow(session, "answer"), {"reason": "too_expensive"}, format="json")
    anon_api.post(flow(session, "accept"), {"offer": offer.pk}, format="json")
    response = anon_api.post(flow(session, "keep"))
    assert response.status_code == 409
    assert "offer accepted" in response.json()["error"]["message"]
    session.refresh_from_db()
    assert session.kept is False and session.accepted_terms["percent"] == 30


def test_keep_on_unknown_and_expired_links(anon_api, workspace) -> None:
    missing = anon_api.post("/api/v1/flow/not-a-token/keep")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "session_not_found"
    session = make_session(workspace)
    CancelSession.objects.filter(pk=session.pk).update(
        token_expires_at=timezone.now() - timedelta(seconds=1)
    )
    expired = anon_api.post(flow(session, "keep"))
    assert expired.status_code == 410 and expired.json()["error"]["code"] == "session_expired"
    session.refresh_from_db()
    assert session.outcome == "" and session.kept is False


def test_a_customer_marked_abandoned_can_still_keep(workspace) -> None:
    session = make_session(workspace)
    later = timezone.now() + timedelta(days=2)
    sessions_abandon_stale(now=later)
    CancelSession.objects.filter(pk=session.pk).update(token_expires_at=later + timedelta(hours=1))
    kept = session_keep(token=session.token, now=later)
    assert (kept.status, kept.outcome, kept.kept) == ("completed", "saved", True)
    events = OutboxEvent.objects.filter(subject_id=session.pk).order_by("pk")
    assert [e.event_type for e in events] == [
        EventType.SESSION_ABANDONED,
        EventType.SESSION_COMPLETED,
    ]
    assert events.last().follows_outcome is True
    assert rollups_check() == ""


# --- what follows from it --------------------------------------------------------------


def test_keeping_changes_no_billing_and_sends_no_confirmation(workspace, offer) -> None:
    workspace.stripe_enabled = True
    workspace.stripe_secret_key = "sk_test_keep"
    workspace.send_confirmation_email = True
    workspace.save()
    kept = make_session(workspace, locale="en")
    session_answer(token=kept.token, reason_code="too_expensive")
    session_keep(token=kept.token)
    assert not Delivery.objects.filter(event__subject_id=kept.pk).exists()
    # A cancellation, by contrast, is applied and confirmed.
    cancelled = make_session(workspace, locale="en")
    session_cancel(token=cancelled.token)
    kinds = set(
        Delivery.objects.filter(event__subject_id=cancelled.pk).values_list("kind", flat=True)
    )
    assert kinds == {"stripe", "customer_email"}


def test_a_kept_customer_is_not_in_an_offer_cooldown(workspace, offer) -> None:
    first = make_session(workspace, customer_id="cus_keeper", subscription_id="sub_a")
    session_answer(token=first.token, reason_code="too_expensive")
    session_keep(token=first.token)
    second = make_session(workspace, customer_id="cus_keeper", subscription_id="sub_b")
    # They accepted nothing, so the cooldown after an accepted offer does not apply.
    assert session_answer(token=second.token, reason_code="too_expensive").offer_id == offer.pk


def test_rollups_count_kept_apart_and_stay_exact(workspace, offer) -> None:
    kept_plain = make_session(workspace, mrr_cents=1000)
    session_keep(token=kept_plain.token)
    kept_after_offer = make_session(workspace, mrr_cents=2000)
    session_answer(token=kept_after_offer.token, reason_code="too_expensive")
    session_keep(token=kept_after_offer.token)
    accepted = make_session(workspace, mrr_cents=4000)
    session_answer(token=accepted.token, reason_code="too_expensive")
    session_accept(token=accepted.token, offer_id=offer.pk)
    cancelled = make_session(workspace, mrr_cents=8000)
    session_cancel(token=cancelled.token)
    assert rollups_check() == ""

    for source in ("rollup", "raw"):
        figures = funnel(workspace=workspace, filters=today(), source=source)
        assert (figures["saved"], figures["saved_by_offer"], figures["kept"]) == (3, 1, 2)
        assert (figures["mrr_saved_by_offer_cents"], figures["mrr_kept_cents"]) == (4000, 3000)
        assert figures["mrr_saved_cents"] == 7000
        steps = {s["step"]: s["sessions"] for s in figures["steps"]}
        assert (steps["saved_by_offer"], steps["kept"], steps["cancelled"]) == (1, 2, 1)
        # The offer was accepted once in two showings; the discount costs only that one.
        assert figures["conversion"]["saved_of_offered"] == 0.5
        assert figures["discount_cost_cents"] == 3600  # $40 x 30% x 3 months
        (row,) = offer_performance(workspace=workspace, filters=today(), source=source)["offers"]
        assert (row["shown"], row["accepted"], row["kept"], row["mrr_saved_cents"]) == (
            2,
            1,
            1,
            4000,
        )


def test_the_dashboard_shows_saved_by_an_offer_and_kept_apart(workspace, offer) -> None:
    for _ in range(2):
        session_keep(token=make_session(workspace).token)
    accepted = make_session(workspace)
    session_answer(token=accepted.token, reason_code="too_expensive")
    session_accept(token=accepted.token, offer_id=offer.pk)
    user = UserFactory()
    membership_add(workspace=workspace, user=user, role="analyst")
    client = Client()
    client.force_login(user)
    day = timezone.now().date().isoformat()
    html = client.get(f"/app/{workspace.slug}/?from={day}&to={day}").content.decode()
    assert 'data-step="saved_by_offer"' in html and 'data-step="kept"' in html
    assert "Saved by an offer" in html and "Kept without an offer" in html


# --- the hosted pages ---------------------------------------------------------------------


@pytest.fixture
def browser() -> Client:
    # enforce_csrf_checks: the pages work with no cookie at all.
    return Client(enforce_csrf_checks=True)


def test_the_pages_offer_keep_as_a_form_not_a_link(browser, workspace, offer) -> None:
    session = make_session(workspace, locale="en", return_url="https://app.example.com/account")
    survey = browser.get(page(session)).content.decode()
    assert f'action="{page(session, "keep")}"' in survey
    assert 'href="https://app.example.com/account"' not in survey
    browser.post(page(session), {"reason": "too_expensive", "action": "continue"})
    offer_html = browser.get(page(session, "offer")).content.decode()
    assert f'action="{page(session, "keep")}"' in offer_html
    assert "Keep my subscription" in offer_html


def test_hosted_keep_goes_back_to_the_return_url(browser, workspace) -> None:
    session = make_session(workspace, locale="en", return_url="https://app.example.com/account")
    response = browser.post(page(session, "keep"))
    assert response.status_code == 302
    assert response["Location"] == "https://app.example.com/account"
    assert not response.cookies  # nothing that would break inside a third-party frame
    session.refresh_from_db()
    assert (session.outcome, session.kept) == (Outcome.SAVED, True)
    # Twice (a double click): the same way back, one outcome.
    again = browser.post(page(session, "keep"))
    assert again.status_code == 302 and again["Location"] == "https://app.example.com/account"
    assert OutboxEvent.objects.filter(subject_id=session.pk).count() == 1


def test_hosted_keep_inside_the_widget_frame_ends_on_the_done_page(browser, workspace) -> None:
    """In the widget's frame the done page tells the host "kept", so the keep
    lands there rather than loading the host's page into the frame."""
    session = make_session(workspace, locale="en", return_url="https://app.example.com/account")
    response = browser.post(page(session, "keep"), {"framed": "1"})
    assert response.status_code == 302 and response["Location"] == page(session, "done")
    session.refresh_from_db()
    assert (session.outcome, session.kept) == (Outcome.SAVED, True)


def test_hosted_keep_without_a_return_url_says_they_are_staying(browser, workspace) -> None:
    session = make_session(workspace, locale="en")
    response = browser.post(page(session, "keep"))
    assert response["Location"] == page(session, "done")
    html = browser.get(page(session, "done")).content.decode()
    assert "You&#x27;re staying with us" in html or "You're staying with us" in html
    assert "nothing was cancelled" in html
    assert "We have applied your offer" not in html


def test_hosted_keep_from_a_stale_tab_after_cancelling(browser, workspace) -> None:
    session = make_session(workspace, locale="en", return_url="https://app.example.com/account")
    browser.post(page(session, "cancel"))
    response = browser.post(page(session, "keep"))
    # A stale tab: nothing changes, and the page says how the session ended (409).
    assert response.status_code == 409
    body = response.content.decode()
    assert "Your subscription is cancelled" in body and "out of date" in body
    session.refresh_from_db()
    assert (session.outcome, session.kept) == (Outcome.CANCELLED, False)


def test_hosted_keep_on_an_expired_link(browser, workspace) -> None:
    session = make_session(workspace, locale="en")
    CancelSession.objects.filter(pk=session.pk).update(
        token_expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = browser.post(page(session, "keep"))
    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()
    session.refresh_from_db()
    assert session.status == SessionStatus.STARTED


def test_get_on_keep_is_not_allowed(browser, workspace) -> None:
    session = make_session(workspace)
    assert browser.get(page(session, "keep")).status_code == 405
    session.refresh_from_db()
    assert session.outcome == ""


def test_the_staying_page_reads_in_chinese(browser, workspace) -> None:
    session = make_session(workspace, locale="zh-hans")
    browser.post(page(session, "keep"))
    html = browser.get(page(session, "done")).content.decode()
    assert "您的订阅保持原样：没有取消，也没有任何变化。" in html


def test_a_keep_alerts_like_any_outcome(
    workspace, offer, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    monkeypatch.undo()  # run the fan-out (in-process) for this test
    routing_defaults_create(workspace=workspace, email_domain="example.com")
    session = make_session(workspace, locale="en")
    session_answer(token=session.token, reason_code="too_expensive")
    with django_capture_on_commit_callbacks(execute=True):
        session_keep(token=session.token)
    # "Left over price" routes every price answer to billing, whatever the outcome.
    alert = Alert.objects.select_related("session__offer", "team", "workspace", "event").get(
        session=session, team__name="Billing"
    )
    context = alert_context(alert)
    assert context["outcome"] == "Kept the subscription without an offer"
    assert context["offer"] == f"Shown, declined: {offer.name}"


def test_the_sessions_csv_says_who_kept_without_an_offer(workspace, offer) -> None:
    session = make_session(workspace)
    session_answer(token=session.token, reason_code="too_expensive")
    session_keep(token=session.token)
    user = UserFactory()
    membership_add(workspace=workspace, user=user, role="analyst")
    client = Client()
    client.force_login(user)
    day = timezone.now().date().isoformat()
    response = client.get(f"/app/{workspace.slug}/export/sessions.csv?from={day}&to={day}")
    (row,) = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    assert (row["outcome"], row["kept"], row["offer_name"]) == ("saved", "True", offer.name)
