"""The customer's hosted pages, driven as a browser without JavaScript would."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from surveys.models import CancelSession, Outcome, SessionStatus
from tests.factories import make_offer, make_session


@pytest.fixture
def client() -> Client:
    # enforce_csrf_checks: the pages must work with no cookie at all.
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def offer(workspace):
    return make_offer(workspace)


def page(session: CancelSession, step: str = "") -> str:
    return f"/c/{session.token}/" + (f"{step}/" if step else "")


def test_survey_page_in_english(client, workspace) -> None:
    session = make_session(workspace, locale="en", return_url="https://app.example.com/")
    response = client.get(page(session))
    html = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Language"] == "en"
    assert "Why are you cancelling?" in html
    assert 'name="reason" value="too_expensive"' in html
    assert "Cancel my subscription" in html
    assert "Keep my subscription" in html
    assert "<script" not in html.split("</main>")[0]  # the form needs no script
    assert "http" not in html.split("<body>")[0].replace("https://app.example.com", "")


def test_survey_page_in_chinese_from_the_browser(client, workspace) -> None:
    session = make_session(workspace)
    response = client.get(page(session), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    html = response.content.decode()
    assert 'lang="zh-Hans"' in html
    assert "您为什么要取消订阅？" in html
    assert "价格太贵了" in html
    assert "取消我的订阅" in html


def test_answer_then_offer_then_accept(client, workspace, offer) -> None:
    session = make_session(workspace, locale="zh-hans")
    answered = client.post(page(session), {"reason": "too_expensive", "action": "continue"})
    assert answered.status_code == 302
    assert answered["Location"] == page(session, "offer")
    offer_html = client.get(page(session, "offer")).content.decode()
    assert "优惠价继续使用" in offer_html
    assert "接下来3个月减免30%" in offer_html
    assert "不用了，取消我的订阅" in offer_html
    assert "接受优惠" in offer_html
    done = client.post(page(session, "accept"), {"offer": offer.pk})
    assert done["Location"] == page(session, "done")
    done_html = client.get(page(session, "done")).content.decode()
    assert "感谢您继续使用" in done_html
    session.refresh_from_db()
    assert session.outcome == Outcome.SAVED


def test_cancel_straight_from_the_survey_without_answering(client, workspace) -> None:
    session = make_session(workspace, locale="en")
    response = client.post(page(session), {"action": "cancel"})
    assert response["Location"] == page(session, "done")
    html = client.get(page(session, "done")).content.decode()
    assert "Your subscription is cancelled" in html
    session.refresh_from_db()
    assert session.outcome == Outcome.CANCELLED
    assert not hasattr(session, "response") or session.response is None


def test_cancel_button_keeps_the_answer(client, workspace) -> None:
    session = make_session(workspace, locale="en")
    client.post(page(session), {"reason": "switching", "text": "Acme", "action": "cancel"})
    session.refresh_from_db()
    assert session.outcome == Outcome.CANCELLED
    assert session.response.text == "Acme"


def test_no_offer_means_a_plain_confirmation(client, workspace, offer) -> None:
    session = make_session(workspace, locale="en")
    client.post(page(session), {"reason": "switching", "action": "continue"})
    html = client.get(page(session, "offer")).content.decode()
    assert "Confirm cancellation" in html
    assert "Stay for less" not in html
    client.post(page(session, "cancel"))
    session.refresh_from_db()
    assert session.outcome == Outcome.CANCELLED


def test_continue_without_a_reason_asks_again(client, workspace) -> None:
    session = make_session(workspace, locale="en")
    response = client.post(page(session), {"action": "continue", "text": "hello"})
    assert response.status_code == 422
    html = response.content.decode()
    assert 'role="alert"' in html
    assert "hello" in html  # what they typed is not lost
    session.refresh_from_db()
    assert session.status == SessionStatus.STARTED


def test_too_long_text_is_refused_kindly(client, workspace) -> None:
    session = make_session(workspace, locale="en")
    response = client.post(page(session), {"reason": "other", "text": "x" * 2500})
    assert response.status_code == 422
    assert "too long" in response.content.decode()


def test_done_and_offer_pages_follow_the_state(client, workspace) -> None:
    session = make_session(workspace, locale="en")
    assert client.get(page(session, "done"))["Location"] == page(session)
    assert client.get(page(session, "offer"))["Location"] == page(session)
    client.post(page(session, "cancel"))
    assert client.get(page(session))["Location"] == page(session, "done")
    # A late accept on a finished session (a stale tab) shows the outcome; it
    # changes nothing.
    late = client.post(page(session, "accept"), {"offer": "1"})
    assert late.status_code == 409
    assert "Your subscription is cancelled" in late.content.decode()
    session.refresh_from_db()
    assert session.outcome == Outcome.CANCELLED


def test_unknown_and_expired_links_are_friendly(client, workspace) -> None:
    missing = client.get("/c/nope/", HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert missing.status_code == 404
    assert "此链接无效" in missing.content.decode()
    session = make_session(workspace, locale="en")
    CancelSession.objects.filter(pk=session.pk).update(
        token_expires_at=timezone.now() - timedelta(minutes=1)
    )
    expired = client.get(page(session))
    assert expired.status_code == 410
    assert "This link has expired" in expired.content.decode()
    posted = client.post(page(session), {"reason": "other"})
    assert posted.status_code == 410


def test_language_switch_is_remembered(client, workspace) -> None:
    session = make_session(workspace, locale="en")
    response = client.post(
        page(session, "language"), {"language": "zh-hans", "next": "flow-survey"}
    )
    assert response["Location"] == page(session)
    assert "您为什么要取消订阅？" in client.get(page(session)).content.decode()
    bad = client.post(page(session, "language"), {"language": "xx"})
    assert bad.status_code == 422


def test_get_on_an_action_is_not_allowed(client, workspace) -> None:
    session = make_session(workspace)
    assert client.get(page(session, "cancel")).status_code == 405
    session.refresh_from_db()
    assert session.status == SessionStatus.STARTED


def test_demo_host_opens_a_session(client, workspace, settings) -> None:
    settings.DEMO_HOST_PAGE = True
    assert client.get("/demo/").status_code == 404  # no demo workspace yet
    workspace.slug = "demo"
    workspace.save()
    response = client.post("/demo/", {"plan": "team", "locale": "zh-hans"})
    session = CancelSession.objects.get(workspace=workspace)
    assert response["Location"] == page(session)
    assert session.plan == "Team" and session.locale == "zh-hans"
    settings.DEMO_HOST_PAGE = False
    assert client.get("/demo/").status_code == 404
