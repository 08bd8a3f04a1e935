"""The pages work under the Content-Security-Policy: nothing is refused, and the
admin, Swagger UI, the dashboard's charts and the hosted pages still do their job.

Each page records every CSP violation the browser reports (a listener injected by
Playwright, which the policy does not govern). Screenshots go to test-results/
(gitignored) for a look by eye.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User

from tests.analytics.conftest import build_history
from tests.factories import make_api_key, make_session, make_workspace

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path(__file__).resolve().parents[2] / "test-results"

RECORD = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.cspViolations.push(`${e.effectiveDirective} ${e.blockedURI} ${where}`);
});
"""


@pytest.fixture
def browser_page(chromium: Any, live_server: Any) -> Any:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(RECORD)
    context.route(
        "**/*",
        lambda route: (
            route.continue_() if route.request.url.startswith(live_server.url) else route.abort()
        ),
    )
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    context.close()


def assert_clean(page: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"csp-{name}.png"), full_page=False)
    assert page.evaluate("window.cspViolations") == []
    assert page.errors == []


def sign_in(page: Any, live_server: Any, path: str) -> None:
    User.objects.create_superuser("root", "root@example.com", "pw-correct-horse-9")
    page.goto(f"{live_server.url}/admin/login/?next={quote(path)}")
    page.fill("#id_username", "root")
    page.fill("#id_password", "pw-correct-horse-9")
    page.click("input[type=submit]")


def test_swagger_ui_renders_under_the_policy(live_server, browser_page) -> None:
    page = browser_page
    response = page.goto(f"{live_server.url}/api/docs/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector(".swagger-ui .info .title")
    page.wait_for_selector(".opblock-summary-path")
    assert "Cancel-flow exit survey API" in page.locator(".info .title").inner_text()
    assert page.locator(".opblock").count() > 10
    assert_clean(page, "api-docs")


def test_the_admin_works_under_the_policy(live_server, browser_page) -> None:
    page = browser_page
    workspace = make_workspace(name="Acme", slug="acme")
    make_api_key(workspace)
    sign_in(page, live_server, "/admin/workspaces/apikey/")
    page.wait_for_selector("#result_list")
    assert_clean(page, "admin-list")
    page.goto(f"{live_server.url}/admin/offers/offerrule/add/")
    page.wait_for_selector("#offerrule_form")
    # The admin's own scripts run: the related-object "+" link is wired up by JS.
    assert page.locator("#add_id_workspace").count() == 1
    assert_clean(page, "admin-form")


def test_the_dashboard_draws_under_the_policy(live_server, browser_page) -> None:
    history = build_history()
    workspace = history["workspace"]
    page = browser_page
    sign_in(page, live_server, f"/app/{workspace.slug}/?from=2026-03-01&to=2026-03-03")
    page.wait_for_function(
        "() => window.dashboardCharts && Object.keys(window.dashboardCharts).length === 3"
    )
    page.wait_for_timeout(1200)
    painted = page.evaluate(
        """() => Object.keys(window.dashboardCharts).map((id) => {
          const c = document.getElementById(id);
          const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
          let n = 0; for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) n++; } return n; })"""
    )
    assert all(count > 500 for count in painted), painted
    assert_clean(page, "dashboard")


def test_the_hosted_pages_work_under_the_policy(live_server, browser_page) -> None:
    workspace = make_workspace(name="Acme", slug="acme")
    session = make_session(workspace)
    page = browser_page
    response = page.goto(f"{live_server.url}/c/{session.token}/")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    page.check("input[name=reason] >> nth=0")
    page.click("button[name=action][value=cancel]")
    page.wait_for_url("**/done/")
    assert_clean(page, "hosted-done")
