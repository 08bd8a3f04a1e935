"""The survey page's parts made once and reused (surveys.hosted): the radio
buttons keyed by what they show, the step links by the script prefix."""

from __future__ import annotations

import re

from django.test import Client
from django.urls import reverse, set_script_prefix

from surveys.hosted import flow_urls
from surveys.services import session_answer
from tests.factories import make_session


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
