"""A product manager opens the dashboard in a real browser and sees the charts drawn."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.analytics.conftest import build_history
from tests.factories import UserFactory
from workspaces.models import Role
from workspaces.services import membership_add

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def history(live_server: Any) -> dict[str, Any]:
    return build_history()


DRAWN = """() => {
  const charts = window.dashboardCharts || {};
  return Object.keys(charts).sort().map((id) => {
    const canvas = document.getElementById(id);
    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) painted++; }
    return [id, canvas.width > 0 && canvas.height > 0, painted];
  });
}"""


def _signed_in(chromium: Any, live_server: Any, workspace: Any, locale: str) -> Any:
    user = UserFactory()
    membership_add(workspace=workspace, user=user, role=Role.ANALYST)
    client = Client()
    client.force_login(user)
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale=locale)
    context.route(
        "**/*",
        lambda route: (
            route.continue_() if route.request.url.startswith(live_server.url) else route.abort()
        ),
    )
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
    return context


@pytest.mark.parametrize(
    ("locale", "heading", "price"),
    [("en-US", "Why customers leave", "Price"), ("zh-CN", "客户为什么离开", "价格")],
)
def test_dashboard_draws_its_charts(live_server, history, chromium, locale, heading, price) -> None:
    workspace = history["workspace"]
    context = _signed_in(chromium, live_server, workspace, locale)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/app/{workspace.slug}/?from=2026-03-01&to=2026-03-03")
    assert page.locator("h1").inner_text() == heading
    page.wait_for_function(
        "() => window.dashboardCharts && Object.keys(window.dashboardCharts).length === 3"
    )
    page.wait_for_timeout(1200)  # let the charts' entry animation finish
    drawn = page.evaluate(DRAWN)
    assert [row[0] for row in drawn] == ["chart-funnel", "chart-reasons", "chart-trends"]
    for chart_id, sized, painted in drawn:
        assert sized and painted > 500, f"{chart_id} looks empty ({painted} painted pixels)"
    assert page.locator("#table-reasons tr[data-category=price] th").inner_text() == price
    assert errors == []

    # From a category to the customers' words behind it, and back.
    page.locator("#table-reasons tr[data-category=price] th a").click()
    page.wait_for_url("**/words/**")
    assert "too pricey for us" in page.locator("#table-words").inner_text()
    context.close()


def test_a_long_unbroken_word_wraps_inside_the_words_table(
    live_server: Any, history: dict[str, Any], chromium: Any
) -> None:
    from surveys.services import session_answer
    from tests.analytics.conftest import at
    from tests.factories import make_session

    workspace = history["workspace"]
    s = make_session(workspace, now=at("2026-03-02T06:00"))
    session_answer(
        token=s.token,
        reason_code="other",
        text="https://example.com/" + "averyveryverylongunbrokenword" * 12,
        now=at("2026-03-02T06:00"),
    )
    context = _signed_in(chromium, live_server, workspace, "en-US")
    page = context.new_page()
    page.goto(f"{live_server.url}/app/{workspace.slug}/words/?from=2026-03-01&to=2026-03-03")

    table = page.evaluate(
        """() => {
          const table = document.getElementById("table-words");
          const root = document.documentElement;
          return [table.scrollWidth, table.parentElement.clientWidth,
                  root.scrollWidth, window.innerWidth];
        }"""
    )
    context.close()
    table_width, room, page_width, window_width = table
    assert table_width <= room, table
    assert page_width <= window_width, table


def test_the_scroll_regions_are_reached_by_keyboard(
    live_server: Any, history: dict[str, Any], chromium: Any
) -> None:
    workspace = history["workspace"]
    context = _signed_in(chromium, live_server, workspace, "en-US")
    page = context.new_page()
    page.goto(f"{live_server.url}/app/{workspace.slug}/?from=2026-03-01&to=2026-03-03")

    reached = set()
    for _ in range(200):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => document.activeElement.classList.contains('scroll') ? "
            "document.activeElement.querySelector('table').id : ''"
        )
        if focused:
            reached.add(focused)
    context.close()
    assert {"table-trends", "table-offers", "table-plans"} <= reached
