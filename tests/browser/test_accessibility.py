"""axe-core finds no violation on the customer's pages (in every language), the
widget's modal, and the team's pages: dashboard, words, inbox, experiments.

axe runs with its default rules (WCAG 2 A and AA, and best practices) in a real
Chromium, the frames of a page included.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from offers.services import experiment_create, offer_rule_create
from surveys.services import session_answer, session_cancel
from tests.analytics.conftest import build_history
from tests.browser.axe import axe_inject, axe_run, axe_violations
from tests.browser.host_site import host_site
from tests.factories import UserFactory, make_offer, make_session, make_workspace
from workspaces.models import Role
from workspaces.services import membership_add, workspace_update

pytestmark = pytest.mark.django_db(transaction=True)


def _context(chromium: Any, allowed: tuple[str, ...], **options: Any) -> Any:
    context = chromium.new_context(**options)
    context.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith(allowed) else route.abort(),
    )
    axe_inject(context)
    return context


@pytest.mark.parametrize(
    ("locale", "browser_locale"), [("en", "en-US"), ("zh-hans", "zh-CN"), ("de", "de-DE")]
)
def test_the_hosted_pages(live_server, chromium, locale, browser_locale) -> None:
    workspace = make_workspace(name="Acme Cloud")
    workspace_update(
        workspace=workspace,
        brand={"support_email": "help@acme.example", "accent_color": "#0b6e4f"},
    )
    make_offer(workspace)
    session = make_session(workspace, locale=locale, return_url="https://app.example.com/")
    context = _context(chromium, (live_server.url,), locale=browser_locale)
    page = context.new_page()
    found: dict[str, list[str]] = {}

    page.goto(f"{live_server.url}/c/{session.token}/")
    found["survey"] = axe_violations(page)
    page.check("input[name=reason][value=too_expensive]")
    page.click("button[name=action][value=continue]")
    page.wait_for_url("**/offer/")
    found["offer"] = axe_violations(page)
    page.click("form[action$='/cancel/'] button")
    page.wait_for_url("**/done/")
    found["done"] = axe_violations(page)
    page.goto(f"{live_server.url}/c/not-a-token/")
    found["error"] = axe_violations(page)
    context.close()
    assert found == {"survey": [], "offer": [], "done": [], "error": []}


def test_the_widget_modal(live_server, chromium) -> None:
    with host_site(live_server.url) as host:
        workspace = make_workspace(name="Acme Cloud")
        workspace_update(workspace=workspace, allowed_origins=[host.origin])
        session = make_session(workspace, locale="en")
        context = _context(
            chromium, (live_server.url, host.origin), viewport={"width": 1280, "height": 900}
        )
        page = context.new_page()
        page.goto(host.url)
        page.wait_for_function("() => !!window.Cancelflow")
        page.evaluate("(token) => { window.openOptions = {token}; }", session.token)
        page.click("#cancel")
        page.wait_for_function("() => window.received.some((m) => m.data.type === 'ready')")
        result = axe_run(page)
        context.close()
    assert result["violations"] == []
    assert result["framed"] > 10  # the flow inside the modal's frame was checked too


@pytest.fixture
def team_pages(live_server: Any) -> Iterator[tuple[Any, Client]]:
    history = build_history()
    workspace = history["workspace"]
    # An experiment to list, and an alert in the inbox.
    low = make_offer(workspace, name="20% off", terms={"percent": 20, "months": 3}, categories=None)
    experiment = experiment_create(
        workspace=workspace, name="Discount depth", variants=[("20%", low, 1), ("Control", None, 1)]
    )
    offer_rule_create(
        workspace=workspace, name="price", experiment=experiment, categories=["price"]
    )
    from tests.alerts.conftest import make_rule, make_team

    make_rule(workspace, make_team(workspace, "Success"))
    session = make_session(workspace, mrr_cents=29900)
    session_answer(token=session.token, reason_code="switching", text="Moving to Acme")
    session_cancel(token=session.token)
    user = UserFactory()
    membership_add(workspace=workspace, user=user, role=Role.ADMIN)
    client = Client()
    client.force_login(user)
    yield workspace, client


@pytest.mark.parametrize("path", ["", "words/?category=price", "inbox/", "experiments/"])
def test_the_team_pages(live_server, chromium, team_pages, path) -> None:
    workspace, client = team_pages
    context = _context(chromium, (live_server.url,), viewport={"width": 1280, "height": 900})
    host = live_server.url.split("//", 1)[1].split(":")[0]
    context.add_cookies(
        [
            {
                "name": "sessionid",
                "value": client.cookies["sessionid"].value,
                "domain": host,
                "path": "/",
            }
        ]
    )
    page = context.new_page()
    response = page.goto(f"{live_server.url}/app/{workspace.slug}/{path}")
    assert response.status == 200
    violations = axe_violations(page)
    context.close()
    assert violations == []
