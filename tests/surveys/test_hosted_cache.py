"""The survey page's parts made once and reused (surveys.hosted): the radio
buttons keyed by what they show, the step links by the script prefix, and the
first survey page itself, keyed by all it shows, with each session's token."""

from __future__ import annotations

import re

import pytest
from django.test import Client, override_settings
from django.urls import reverse, set_script_prefix

from surveys import views
from surveys.hosted import first_survey_pages_clear, flow_urls
from surveys.models import Survey
from surveys.services import session_answer, survey_bump_version
from tests.factories import make_session
from workspaces.services import workspace_update


def checked(html: str) -> list[str]:
    return re.findall(r'value="([^"]+)"[^>]*\schecked', html)


def test_each_session_sees_its_own_answer_checked(client: Client, workspace) -> None:
    first, second = make_session(workspace, locale="en"), make_session(workspace, locale="en")
    session_answer(token=first.token, reason_code="too_expensive")
    session_answer(token=second.token, reason_code="not_using")
    for session, reason in ((first, "too_expensive"), (second, "not_using")):
        html = client.get(f"/c/{session.token}/?edit=1").content.decode()
        assert checked(html) == [reason]
        assert f'action="/c/{session.token}/"' in html  # its own links
        assert f'action="/c/{session.token}/keep/"' in html
    fresh = make_session(workspace, locale="en")
    assert checked(client.get(f"/c/{fresh.token}/").content.decode()) == []


def test_a_shuffled_survey_keeps_each_sessions_order(client: Client, workspace) -> None:
    survey = workspace.surveys.get()
    survey.randomize_order = True
    survey.save(update_fields=["randomize_order"])
    orders = set()
    for _ in range(6):
        session = make_session(workspace, locale="en")
        html = client.get(f"/c/{session.token}/").content.decode()
        order = tuple(re.findall(r'name="reason" value="([^"]+)"', html))
        assert order == tuple(re.findall(r'name="reason" value="([^"]+)"', html))
        assert client.get(f"/c/{session.token}/").content.decode() == html  # stable on reload
        orders.add(order)
    assert len(orders) > 1  # not one cached order for everyone


def test_step_links_follow_the_script_prefix() -> None:
    try:
        set_script_prefix("/cancel-flow/")
        urls = flow_urls("tok_123")
        assert urls["offer"] == reverse("flow-offer", args=["tok_123"])
        assert urls["offer"] == "/cancel-flow/c/tok_123/offer/"
    finally:
        set_script_prefix("/")
    assert flow_urls("tok_123")["survey"] == "/c/tok_123/"
    # Every hosted step of surveys/urls.py, none written out twice.
    assert set(flow_urls("t")) == {
        "survey",
        "offer",
        "accept",
        "cancel",
        "keep",
        "language",
        "done",
    }


def _rendered_for_itself(client: Client, token: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The page as the view renders it for this session alone (no reuse)."""
    with monkeypatch.context() as patch:
        patch.setattr(views, "first_survey_page", lambda *args, **kwargs: None)
        return client.get(f"/c/{token}/").content.decode()


@pytest.mark.parametrize(
    "setup",
    ["plain", "chinese", "compliance", "framed and branded"],
)
def test_a_reused_survey_page_is_the_page_rendered_for_the_session(
    client: Client, workspace, monkeypatch: pytest.MonkeyPatch, setup: str
) -> None:
    first_survey_pages_clear()
    locale = "zh-hans" if setup == "chinese" else "en"
    if setup == "compliance":
        workspace.compliance_mode = True
        workspace.save(update_fields=["compliance_mode"])
    if setup == "framed and branded":
        workspace_update(
            workspace=workspace,
            allowed_origins=["https://app.example.com"],
            brand={"name": "Acme & Co", "accent_color": "#0a7d33", "support_email": "h@x.org"},
        )
    earlier = make_session(workspace, locale=locale, return_url="https://app.example.com/back")
    client.get(f"/c/{earlier.token}/")  # renders the shared page
    session = make_session(workspace, locale=locale, return_url="https://app.example.com/x")
    reused = client.get(f"/c/{session.token}/")
    assert reused.status_code == 200
    html = reused.content.decode()
    assert html == _rendered_for_itself(client, session.token, monkeypatch)
    assert session.token in html and earlier.token not in html
    assert reused["Content-Language"] == locale
    assert reused["Cache-Control"] == "no-store"


def test_a_new_survey_version_or_script_prefix_shows_at_once(client: Client, workspace) -> None:
    first_survey_pages_clear()
    session = make_session(workspace, locale="en")
    assert "Why are you cancelling?" in client.get(f"/c/{session.token}/").content.decode()
    survey = workspace.surveys.get()
    Survey.objects.filter(pk=survey.pk).update(question={"en": "What made you go?"})
    survey_bump_version(survey=survey)
    later = make_session(workspace, locale="en")
    html = client.get(f"/c/{later.token}/").content.decode()
    assert "What made you go?" in html and "Why are you cancelling?" not in html
    try:  # as behind a proxy that mounts the service under a path
        set_script_prefix("/cancel-flow/")
        prefixed = client.get(f"/c/{later.token}/").content.decode()
    finally:
        set_script_prefix("/")
    assert f'action="/cancel-flow/c/{later.token}/keep/"' in prefixed


def test_what_the_customer_typed_or_an_error_is_never_shared(client: Client, workspace) -> None:
    first_survey_pages_clear()
    typed = make_session(workspace, locale="en")
    page = client.post(f"/c/{typed.token}/", {"text": "my own words <b>", "action": "continue"})
    assert page.status_code == 422
    assert "my own words &lt;b&gt;" in page.content.decode()
    answered = make_session(workspace, locale="en")
    session_answer(token=answered.token, reason_code="too_expensive", text="quite private")
    assert "quite private" in client.get(f"/c/{answered.token}/?edit=1").content.decode()
    fresh = make_session(workspace, locale="en")
    html = client.get(f"/c/{fresh.token}/").content.decode()
    assert "my own words" not in html and "quite private" not in html
    assert 'role="alert"' not in html


def test_a_new_static_address_reaches_the_shared_page(client: Client, workspace) -> None:
    """The shared page holds the assets' addresses: a change of STATIC_URL (a
    test's, or a new deployment's setting) empties it."""
    first_survey_pages_clear()
    session = make_session(workspace, locale="en")
    assert 'href="/static/css/flow.css"' in client.get(f"/c/{session.token}/").content.decode()
    with override_settings(STATIC_URL="/assets/"):
        later = make_session(workspace, locale="en")
        html = client.get(f"/c/{later.token}/").content.decode()
        assert 'href="/assets/css/flow.css"' in html and "/static/" not in html
    again = make_session(workspace, locale="en")
    assert 'href="/static/css/flow.css"' in client.get(f"/c/{again.token}/").content.decode()
