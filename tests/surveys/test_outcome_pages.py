"""The hosted pages say what happened (issue 18): the months and resume date of
a pause, a support callback as a callback, when access ends, a way back from
expired and ended pages, and what a stale tab's POST met; in English, Chinese
and German."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from surveys.models import CancelSession, Outcome
from tests.factories import make_offer
from tests.offers.conftest import open_session
from tests.readable import plain

RETURN = "https://app.example.com/account"


@pytest.fixture
def client() -> Client:
    return Client(enforce_csrf_checks=True)


def c(session: CancelSession, step: str = "") -> str:
    return f"/c/{session.token}/" + (f"{step}/" if step else "")


def paused(client: Client, workspace, locale: str, months: int = 1) -> CancelSession:
    offer = make_offer(
        workspace, name="p", kind="pause", terms={"max_months": 3}, categories=["not_needed"]
    )
    session = open_session(workspace, locale=locale)
    client.post(c(session), {"reason": "not_using"})
    done = client.post(c(session, "accept"), {"offer": offer.pk, "months": str(months)})
    assert done["Location"] == c(session, "done")
    return session


@pytest.mark.parametrize(
    ("locale", "said", "not_said"),
    [
        ("en", "Paused for 1 month, until January 22, 2027", ["up to", "Pause your subscription"]),
        ("zh-hans", "暂停 1 个月，至 2027年1月22日", ["最长"]),
        ("de", "Pausiert für 1 Monat, bis zum 22. Januar 2027", ["bis zu ", "Pausieren Sie"]),
    ],
)
def test_after_a_pause_the_done_page_gives_the_months_and_the_resume_date(
    client, workspace, locale: str, said: str, not_said: list[str]
) -> None:
    session = paused(client, workspace, locale)
    html = plain(client.get(c(session, "done")).content.decode())
    assert said in html
    for words in not_said:
        assert words not in html


def test_a_longer_pause_reads_in_the_plural(client, workspace) -> None:
    session = paused(client, workspace, "en", months=3)
    html = plain(client.get(c(session, "done")).content.decode())
    assert "Paused for 3 months, until March 22, 2027" in html


@pytest.mark.parametrize(
    ("locale", "said", "not_said"),
    [
        ("en", "Our team will get in touch with you soon.", "We have applied your offer"),
        ("zh-hans", "我们的团队会尽快与您联系。", "我们已为您应用"),
        ("de", "Unser Team meldet sich in Kürze bei Ihnen.", "angewendet"),
    ],
)
def test_a_support_callback_says_the_team_will_get_in_touch(
    client, workspace, locale: str, said: str, not_said: str
) -> None:
    offer = make_offer(
        workspace, name="s", kind="support", terms={}, categories=["customer_service"]
    )
    session = open_session(workspace, locale=locale)
    client.post(c(session), {"reason": "support"})
    client.post(c(session, "accept"), {"offer": offer.pk})
    session.refresh_from_db()
    assert session.outcome == Outcome.SAVED
    html = client.get(c(session, "done")).content.decode()
    assert said in html
    assert not_said not in html


@pytest.mark.parametrize(
    ("locale", "said"),
    [
        ("en", "You keep access until December 22, 2026."),
        ("zh-hans", "2026年12月22日"),
        ("de", "Sie behalten Zugang bis zum 22. Dezember 2026."),
    ],
)
def test_the_cancelled_page_says_when_access_ends(client, workspace, locale, said) -> None:
    session = open_session(workspace, locale=locale)
    client.post(c(session), {"action": "cancel"})
    html = plain(client.get(c(session, "done")).content.decode())
    assert said in html


def test_without_a_period_end_the_cancelled_page_says_the_paid_period(client, workspace) -> None:
    session = open_session(workspace, locale="en", current_period_end=None)
    client.post(c(session), {"action": "cancel"})
    html = client.get(c(session, "done")).content.decode()
    assert "You keep access until the end of the period you have paid for." in html


def test_the_expired_page_links_back_to_the_account(client, workspace) -> None:
    session = open_session(workspace, locale="de", return_url=RETURN)
    CancelSession.objects.filter(pk=session.pk).update(
        token_expires_at=timezone.now() - timedelta(minutes=1)
    )
    for response in (client.get(c(session)), client.post(c(session), {"reason": "other"})):
        assert response.status_code == 410
        html = response.content.decode()
        assert "Dieser Link ist abgelaufen" in html
        assert f'href="{RETURN}"' in html and "Zurück zu Ihrem Konto" in html


def test_an_expired_page_without_a_return_url_has_no_dead_link(client, workspace) -> None:
    session = open_session(workspace, locale="en")
    CancelSession.objects.filter(pk=session.pk).update(
        token_expires_at=timezone.now() - timedelta(minutes=1)
    )
    html = client.get(c(session)).content.decode()
    assert "This link has expired" in html and "Back to your account" not in html


def test_the_ended_page_links_back_to_the_account(client, workspace) -> None:
    session = open_session(workspace, locale="en", return_url=RETURN)
    client.post(c(session), {"action": "cancel"})
    html = client.get(c(session, "done")).content.decode()
    assert f'href="{RETURN}"' in html and "Back to your account" in html


def test_a_stale_tab_cancel_after_a_save_shows_the_save_and_how_to_still_cancel(
    client, workspace
) -> None:
    offer = make_offer(workspace)
    session = open_session(workspace, locale="en", return_url=RETURN)
    client.post(c(session), {"reason": "too_expensive"})
    client.post(c(session, "accept"), {"offer": offer.pk})
    # The other tab still shows the offer page; its cancel button posts.
    response = client.post(c(session, "cancel"))
    assert response.status_code == 409
    html = plain(response.content.decode())
    assert "This page was out of date, so nothing was changed" in html
    assert "You're staying with us" in html
    assert "30% off your next 3 months, until March 22, 2027" in html
    assert "Still want to cancel?" in html
    assert f'href="{RETURN}"' in html and "Go to your account to cancel" in html
    session.refresh_from_db()
    assert session.outcome == Outcome.SAVED  # nothing changed


def test_a_stale_tab_in_chinese_and_german(client, workspace) -> None:
    offer = make_offer(workspace)
    for locale, words in (
        ("zh-hans", ["此页面已过期", "仍想取消？"]),
        ("de", ["veraltet", "trotzdem kündigen"]),
    ):
        session = open_session(workspace, locale=locale, return_url=RETURN)
        client.post(c(session), {"reason": "too_expensive"})
        client.post(c(session, "accept"), {"offer": offer.pk})
        html = client.post(c(session), {"action": "cancel"}).content.decode()
        for word in words:
            assert word in html


def test_a_stale_tab_after_a_cancel_shows_the_cancellation(client, workspace) -> None:
    offer = make_offer(workspace)
    session = open_session(workspace, locale="en", return_url=RETURN)
    client.post(c(session), {"reason": "too_expensive"})
    client.post(c(session, "cancel"))
    for stale in (
        client.post(c(session, "accept"), {"offer": offer.pk}),
        client.post(c(session), {"reason": "other", "action": "continue"}),
    ):
        assert stale.status_code == 409
        html = plain(stale.content.decode())
        assert "This page was out of date" in html
        assert "Your subscription is cancelled" in html
        assert "You keep access until December 22, 2026." in html
        assert "Still want to cancel?" not in html
        assert f'href="{RETURN}"' in html
    session.refresh_from_db()
    assert session.outcome == Outcome.CANCELLED
    # Pressing cancel twice is not stale: the same outcome, the usual page.
    assert client.post(c(session, "cancel"))["Location"] == c(session, "done")


def test_a_stale_tab_without_a_return_url_still_says_where_to_cancel(client, workspace) -> None:
    offer = make_offer(workspace)
    session = open_session(workspace, locale="en")
    client.post(c(session), {"reason": "too_expensive"})
    client.post(c(session, "accept"), {"offer": offer.pk})
    html = client.post(c(session, "cancel")).content.decode()
    assert "start again from the cancel button in your account" in html
    assert "Go to your account to cancel" not in html


def test_a_german_browser_gets_german_pages_unless_the_session_says_otherwise(
    client, workspace
) -> None:
    session = open_session(workspace, locale="")
    html = client.get(c(session), HTTP_ACCEPT_LANGUAGE="fr-CH, de;q=0.8, en;q=0.5").content
    assert "Warum möchten Sie kündigen?" in html.decode()
    assert 'lang="de"' in html.decode()
    english = open_session(workspace, locale="en")
    html = client.get(c(english), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Why are you cancelling?" in html


def test_the_language_switch_offers_the_other_two(client, workspace) -> None:
    session = open_session(workspace, locale="de")
    html = client.get(c(session)).content.decode()
    assert 'value="en"' in html and 'value="zh-hans"' in html and 'value="de"' not in html
    client.post(c(session, "language"), {"language": "zh-hans", "next": "flow-survey"})
    html = client.get(c(session)).content.decode()
    assert 'value="de"' in html and "Deutsch" in html


def test_compliance_mode_in_german_keeps_the_statutory_wording(client, workspace) -> None:
    workspace.compliance_mode = True
    workspace.save(update_fields=["compliance_mode"])
    session = open_session(workspace, locale="de")
    survey = client.get(c(session)).content.decode()
    assert "Verträge hier kündigen" in survey
    offer = plain(client.get(c(session, "offer")).content.decode())
    assert "jetzt kündigen" in offer
    assert "Ihr Vertrag endet am 22. Dezember 2026." in offer
    client.post(c(session, "cancel"))
    done = plain(client.get(c(session, "done")).content.decode())
    assert "Ihr Abo ist gekündigt" in done
    assert "Ihre Kündigung ist am" in done


def test_the_demo_host_follows_the_browser_language(client, workspace, settings) -> None:
    settings.DEMO_HOST_PAGE = True
    workspace.slug = "demo"
    workspace.currency = "EUR"
    workspace.save()
    html = client.get("/demo/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9").content.decode()
    assert 'lang="de"' in html and "Ihr Tarif" in html
    assert 'value="de" checked' in html and 'value="en" checked' not in html
    assert "49,00 € im Monat" in plain(html)
    chinese = client.get("/demo/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert 'value="zh-hans" checked' in chinese and "您的套餐" in chinese
    assert 'value="en" checked' in client.get("/demo/").content.decode()
    # The made-up subscription has a paid period, so the pages show its end.
    response = client.post("/demo/", {"plan": "pro", "locale": "de"})
    session = CancelSession.objects.get(workspace=workspace)
    assert session.current_period_end is not None and session.currency == "EUR"
    client.post(response["Location"], {"action": "cancel"})
    done = plain(client.get(c(session, "done")).content.decode())
    assert "Sie behalten Zugang bis zum" in done


def test_there_is_a_favicon(client, workspace) -> None:
    session = open_session(workspace, locale="en")
    html = client.get(c(session)).content.decode()
    assert '<link rel="icon" href="/static/favicon.svg"' in html
    assert client.get("/static/favicon.svg").status_code == 200
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon["Content-Type"] == "image/x-icon"
    assert b"".join(icon.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO file


def test_switching_language_on_the_done_page_is_not_a_stale_tab(client, workspace) -> None:
    session = open_session(workspace, locale="en")
    client.post(c(session), {"action": "cancel"})
    switched = client.post(c(session, "language"), {"language": "de", "next": "flow-done"})
    assert switched.status_code == 302 and switched["Location"] == c(session, "done")
    html = client.get(c(session, "done")).content.decode()
    assert "Ihr Abo ist gekündigt" in html and "veraltet" not in html
