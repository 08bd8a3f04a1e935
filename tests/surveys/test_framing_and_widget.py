"""The hosted pages may be framed by the workspace's allowed origins only, set no
cookie, and tell the host's page what happened; the widget script is small,
cacheable and served gzipped; a hosted page weighs little."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils import timezone

from surveys.models import CancelSession, Outcome, SessionStatus
from tests.factories import make_offer, make_session
from workspaces.models import Workspace
from workspaces.services import workspace_update

pytestmark = pytest.mark.django_db

SCRIPT_BUDGET = 5 * 1024  # gzipped
PAGE_BUDGET = 30 * 1024  # a hosted page with its CSS and scripts, without the logo


def csp(response: Any) -> dict[str, str]:
    return {
        part.strip().split(" ", 1)[0]: part.strip().split(" ", 1)[1]
        for part in response["Content-Security-Policy"].split(";")
    }


def test_hosted_pages_may_be_framed_by_the_allowed_origins_only(
    client: Client, workspace: Workspace
) -> None:
    session = make_session(workspace, locale="en")
    page = client.get(f"/c/{session.token}/")
    assert csp(page)["frame-ancestors"] == "'none'"
    assert "X-Frame-Options" not in page
    assert "cf-embed" not in page.content.decode()  # nobody may frame it: no frame script

    workspace_update(
        workspace=workspace, allowed_origins=["https://app.example.com", "http://localhost:3000"]
    )
    session = CancelSession.objects.get(pk=session.pk)  # the workspace as now configured
    for path in ("", "offer/", "done/"):
        response = client.get(f"/c/{session.token}/{path}", follow=True)
        assert response.status_code == 200
        assert csp(response)["frame-ancestors"] == "https://app.example.com http://localhost:3000"
        assert "X-Frame-Options" not in response
        assert response.cookies == {}  # nothing depends on a cookie blocked in a frame
    html = client.get(f"/c/{session.token}/").content.decode()
    embed = json.loads(re.search(r'id="cf-embed"[^>]*>(.*?)</script>', html).group(1))
    assert embed["origins"] == ["https://app.example.com", "http://localhost:3000"]
    assert embed["outcome"] is None


def test_every_other_page_keeps_deny(client: Client, workspace: Workspace) -> None:
    workspace_update(workspace=workspace, allowed_origins=["https://app.example.com"])
    for path in ("/accounts/login/", "/admin/login/", "/c/unknown-token/"):
        response = client.get(path)
        assert response["X-Frame-Options"] == "DENY", path
        assert csp(response)["frame-ancestors"] == "'none'", path


def test_the_forms_work_without_any_cookie(workspace: Workspace) -> None:
    """A POST from inside a cross-site frame carries no cookie: the token in the
    URL is what authorises it (see surveys.views)."""
    make_offer(workspace)
    workspace_update(workspace=workspace, allowed_origins=["https://app.example.com"])
    session = make_session(workspace, locale="en")
    browser = Client(enforce_csrf_checks=True)
    answered = browser.post(
        f"/c/{session.token}/",
        {"reason": "too_expensive"},
        HTTP_ORIGIN="http://testserver",
        HTTP_SEC_FETCH_SITE="same-origin",
    )
    assert answered.status_code == 302 and answered.cookies == {}
    cancelled = browser.post(f"/c/{session.token}/cancel/")
    assert cancelled.status_code == 302
    assert "X-Frame-Options" not in cancelled  # a step inside the frame
    assert csp(cancelled)["frame-ancestors"] == "https://app.example.com"
    session.refresh_from_db()
    assert session.outcome == Outcome.CANCELLED


def _embed(client: Client, session: CancelSession) -> dict[str, Any]:
    html = client.get(f"/c/{session.token}/done/").content.decode()
    return json.loads(re.search(r'id="cf-embed"[^>]*>(.*?)</script>', html).group(1))


def test_the_done_page_announces_each_final_state(client: Client, workspace: Workspace) -> None:
    offer = make_offer(workspace)
    workspace_update(workspace=workspace, allowed_origins=["https://app.example.com"])
    saved = make_session(workspace, locale="en")
    client.post(f"/c/{saved.token}/", {"reason": "too_expensive"})
    client.post(f"/c/{saved.token}/accept/", {"offer": offer.pk})
    message = _embed(client, saved)["outcome"]
    assert message["type"] == "saved" and message["session"] == str(saved.pk)
    assert message["offer"] == {"id": offer.pk, "kind": "discount_percent", "name": offer.name}
    assert message["terms"]["percent"] == 30 and "kind" not in message["terms"]

    cancelled = make_session(workspace, locale="en")
    client.post(f"/c/{cancelled.token}/cancel/")
    assert _embed(client, cancelled)["outcome"] == {
        "type": "cancelled",
        "session": str(cancelled.pk),
    }

    kept = make_session(workspace, locale="en")
    CancelSession.objects.filter(pk=kept.pk).update(
        status=SessionStatus.COMPLETED, outcome=Outcome.SAVED, completed_at=timezone.now()
    )
    assert _embed(client, kept)["outcome"] == {"type": "kept", "session": str(kept.pk)}


def test_the_widget_script_is_small_cacheable_and_gzipped(client: Client) -> None:
    raw = Path(finders.find("widget/v1.js")).read_bytes()
    assert len(gzip.compress(raw, compresslevel=9)) <= SCRIPT_BUDGET
    response = client.get("/widget/v1.js", HTTP_ACCEPT_ENCODING="gzip, br")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Content-Encoding"] == "gzip"
    assert len(response.content) <= SCRIPT_BUDGET
    assert gzip.decompress(response.content) == raw
    assert "public" in response["Cache-Control"] and "max-age=3600" in response["Cache-Control"]
    assert "Accept-Encoding" in response["Vary"]
    plain = client.get("/widget/v1.js", HTTP_ACCEPT_ENCODING="gzip;q=0")
    assert "Content-Encoding" not in plain and plain.content == raw
    same = client.get("/widget/v1.js", HTTP_IF_NONE_MATCH=response["ETag"])
    assert same.status_code == 304
    assert client.post("/widget/v1.js").status_code == 405


def test_the_widget_can_open_a_session_from_another_origin(client: Client) -> None:
    preflight = client.options(
        "/api/v1/widget/sessions",
        HTTP_ORIGIN="https://app.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    assert "Content-Type" in preflight["Access-Control-Allow-Headers"]
    refused = client.post(
        "/api/v1/widget/sessions",
        {},
        content_type="application/json",
        HTTP_ORIGIN="https://x.example",
    )
    assert refused.status_code == 400 and refused["Access-Control-Allow-Origin"] == "*"


def _weight(client: Client, path: str) -> int:
    """The bytes a first visit downloads: the page, its style sheets and scripts."""
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    total = len(response.content)
    for asset in re.findall(r'(?:href|src)="/static/([^"]+)"', html):
        total += Path(finders.find(asset)).stat().st_size
    return total


def test_a_hosted_page_weighs_at_most_30_kb(client: Client, workspace: Workspace) -> None:
    make_offer(workspace)
    workspace_update(
        workspace=workspace,
        allowed_origins=["https://app.example.com"],
        brand={"name": "Acme", "support_email": "help@acme.example"},
    )
    session = make_session(workspace, locale="en", return_url="https://app.example.com/")
    weights = {"survey": _weight(client, f"/c/{session.token}/")}
    client.post(f"/c/{session.token}/", {"reason": "too_expensive"})
    weights["offer"] = _weight(client, f"/c/{session.token}/offer/")
    client.post(f"/c/{session.token}/cancel/")
    weights["done"] = _weight(client, f"/c/{session.token}/done/")
    assert max(weights.values()) <= PAGE_BUDGET, weights
