"""The analytics API gives the dashboard's numbers; the CSV streams the sessions."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from rest_framework.test import APIClient

from analytics.models import SubscriberCount
from tests.analytics.conftest import period
from tests.factories import make_api_key, make_session, make_workspace


@pytest.fixture
def api(history) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(history['workspace'])}")
    return client


def test_funnel_api(api) -> None:
    body = api.get("/api/v1/analytics/funnel", period()).json()
    assert [s["sessions"] for s in body["steps"]] == [5, 4, 2, 1, 0, 2, 1]
    assert body["save_rate"] == 0.25
    assert body["from"] == "2026-03-01" and body["to"] == "2026-03-03"
    assert body["churn"]["churn_rate"] == 2.5
    assert body["change"]["started"] == 4.0


def test_filters_apply_to_every_endpoint(api) -> None:
    pro = period(plan="Pro")
    assert api.get("/api/v1/analytics/funnel", pro).json()["started"] == 3
    reasons = api.get("/api/v1/analytics/reasons", pro).json()
    assert reasons["answered"] == 3
    weekly = api.get("/api/v1/analytics/trends", {**pro, "interval": "day"}).json()
    assert [p["started"] for p in weekly["periods"]] == [1, 1, 1]
    offers = api.get("/api/v1/analytics/offers", period(locale="zh-hans")).json()["offers"]
    assert [(o["shown"], o["accepted"]) for o in offers] == [(1, 0)]
    plans = api.get("/api/v1/analytics/breakdown", period(by="plan")).json()["rows"]
    assert {r["plan"]: r["started"] for r in plans} == {"Pro": 3, "Team": 2}


def test_reason_labels_in_either_language(api) -> None:
    body = api.get("/api/v1/analytics/reasons", period(lang="zh-CN")).json()
    assert body["categories"][0]["reasons"][0]["label"] == "价格太贵了"
    assert body["categories"][0]["label"] == "价格"


def test_verbatims_api_search_and_filter(api) -> None:
    body = api.get("/api/v1/analytics/verbatims", period(q="pricey")).json()
    assert [r["text"] for r in body["results"]] == ["too pricey for us"]
    body = api.get("/api/v1/analytics/verbatims", period(category="not_needed")).json()
    assert [r["text"] for r in body["results"]] == ["busy season"]
    body = api.get("/api/v1/analytics/verbatims", period(outcome="cancelled")).json()
    assert [r["text"] for r in body["results"]] == ["=no API"]
    body = api.get("/api/v1/analytics/verbatims", period(plan="Team")).json()
    assert [(r["text"], r["plan"]) for r in body["results"]] == [("=no API", "Team")]
    body = api.get("/api/v1/analytics/verbatims", period(plan="Pro", outcome="saved")).json()
    assert [r["text"] for r in body["results"]] == ["too pricey for us"]


def test_bad_filters_are_clear_errors(api) -> None:
    response = api.get("/api/v1/analytics/funnel", {"from": "yesterday"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_date"
    response = api.get("/api/v1/analytics/trends", period(interval="fortnight"))
    assert response.status_code == 422
    response = api.get("/api/v1/analytics/breakdown", period(by="colour"))
    assert response.json()["error"]["code"] == "invalid_breakdown"
    response = api.get("/api/v1/analytics/verbatims", period(limit="0"))
    assert response.status_code == 400


def test_tenant_isolation(history, api) -> None:
    other = make_workspace(slug="other-shop", time_zone="Asia/Shanghai")
    make_session(other, plan="Pro")
    theirs = APIClient()
    theirs.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(other)}")
    assert theirs.get("/api/v1/analytics/funnel", period()).json()["started"] == 0
    assert api.get("/api/v1/analytics/funnel", period()).json()["started"] == 5
    their_survey = other.surveys.get().pk
    response = api.get("/api/v1/analytics/funnel", period(survey=str(their_survey)))
    assert response.status_code == 404
    assert APIClient().get("/api/v1/analytics/funnel").status_code in (401, 403)
    rows = list(csv.reader(io.StringIO(_csv(theirs, period()))))
    assert len(rows) == 1  # their own sessions only: none in this period


def _csv(client: APIClient, params: dict[str, str]) -> str:
    response = client.get("/api/v1/exports/sessions.csv", params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return b"".join(response.streaming_content).decode()


def test_sessions_csv(history, api) -> None:
    rows = list(csv.DictReader(io.StringIO(_csv(api, period()))))
    assert len(rows) == 5
    assert [r["session_id"] for r in rows] == [
        str(history["sessions"][name].pk) for name in ("s1", "s2", "s3", "s4", "s5")
    ]
    first = rows[0]
    assert (first["outcome"], first["reason"], first["category"]) == (
        "saved",
        "too_expensive",
        "price",
    )
    assert first["offer_name"] == history["offer"].name
    assert first["mrr_cents"] == "5000"
    assert rows[3]["locale"] == "en" and rows[3]["outcome"] == "abandoned"
    # A formula-looking answer cannot run in a spreadsheet.
    assert rows[2]["text"] == "'=no API"
    assert len(list(csv.DictReader(io.StringIO(_csv(api, period(plan="Team")))))) == 2


def test_subscriber_counts_api(history, api) -> None:
    response = api.post(
        "/api/v1/metrics/subscribers",
        {"date": "2026-03-03", "active": 991, "new": 2},
        format="json",
    )
    assert response.status_code == 201
    assert (
        SubscriberCount.objects.get(workspace=history["workspace"], date="2026-03-03").active == 991
    )
    response = api.post(
        "/api/v1/metrics/subscribers",
        [
            {"date": "2026-03-04", "active": 990, "new": 1},
            {"date": "2026-03-05", "active": 989, "new": 0},
        ],
        format="json",
    )
    assert response.status_code == 201 and len(response.json()) == 2
    for body, field in [
        ({"date": "2026-03-03", "active": -1, "new": 0}, "active"),
        ({"date": "not a date", "active": 1, "new": 0}, "date"),
        ({"active": 1, "new": 0}, "date"),
    ]:
        response = api.post("/api/v1/metrics/subscribers", body, format="json")
        assert response.status_code == 400
        assert field in response.json()["error"]["fields"]
    response = api.post(
        "/api/v1/metrics/subscribers", {"date": "2999-01-01", "active": 1, "new": 0}, format="json"
    )
    assert response.status_code == 422 and response.json()["error"]["code"] == "future_date"
    response = api.post(
        "/api/v1/metrics/subscribers",
        [
            {"date": "2026-03-04", "active": 1, "new": 0},
            {"date": "2026-03-04", "active": 2, "new": 0},
        ],
        format="json",
    )
    assert response.json()["error"]["code"] == "duplicate_date"


def test_verbatims_pages_follow_each_other(api) -> None:
    """Page by page (offset, limit) gives the answers of one long page, in order,
    each with its session's plan and outcome, and an empty page past the end."""
    url = "/api/v1/analytics/verbatims"
    whole = api.get(url, period(limit="200")).json()["results"]
    assert len(whole) >= 3
    pages = [
        api.get(url, period(offset=str(n), limit="1")).json()["results"] for n in range(len(whole))
    ]
    assert [page[0] for page in pages] == whole
    assert all(r["plan"] and "outcome" in r for r in whole)
    assert api.get(url, period(offset=str(len(whole)))).json()["results"] == []


def test_an_answer_deleted_while_its_page_is_read_is_left_out(api, monkeypatch) -> None:
    """A page's answers are found first, then read with their sessions: an answer
    deleted in between is left out of the page, which is still answered."""
    from django.db.models import QuerySet

    from surveys.models import Response as Answer

    url = "/api/v1/analytics/verbatims"
    whole = [r["response"] for r in api.get(url, period()).json()["results"]]
    gone = whole[1]
    in_bulk = QuerySet.in_bulk

    def deleting_first(self: QuerySet, *args, **kwargs):  # type: ignore[no-untyped-def]
        Answer.objects.filter(pk=gone).delete()
        return in_bulk(self, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "in_bulk", deleting_first)
    response = api.get(url, period())
    assert response.status_code == 200
    assert [r["response"] for r in response.json()["results"]] == [pk for pk in whole if pk != gone]


def test_the_words_cost_the_same_statements_for_one_answer_as_for_a_page(api, history) -> None:
    """The answers come with what is shown beside them (the session's start, plan
    and outcome) in the page's own statements: none is read per answer, in the API
    or on the words page."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from workspaces.models import Role
    from workspaces.services import membership_add

    def statements(get: Any) -> int:
        get()  # warm: sessions, caches
        with CaptureQueriesContext(connection) as seen:
            get()
        return len(seen.captured_queries)

    url = "/api/v1/analytics/verbatims"
    assert len(api.get(url, period()).json()["results"]) >= 3
    assert statements(lambda: api.get(url, period(limit="1"))) == statements(
        lambda: api.get(url, period())
    )
    ws = history["workspace"]
    user = User.objects.create_user("reader")
    membership_add(workspace=ws, user=user, role=Role.ANALYST)
    web = Client()
    web.force_login(user)
    page = f"/app/{ws.slug}/words/"
    one_day = {"from": "2026-03-03", "to": "2026-03-03"}  # s5's answer only
    assert statements(lambda: web.get(page, one_day)) == statements(lambda: web.get(page, period()))
