"""The dashboard, the customers' words, re-labelling and the CSV downloads."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from django.test import Client

from surveys.models import Response
from tests.analytics.conftest import period
from tests.factories import UserFactory, make_workspace
from workspaces.models import Role
from workspaces.services import membership_add


def member(workspace, role: str) -> Client:
    user = UserFactory()
    membership_add(workspace=workspace, user=user, role=role)
    client = Client()
    client.force_login(user)
    return client


def _cell(page: str, row_attr: str, column: int) -> str:
    row = re.search(rf"<tr {row_attr}>(.*?)</tr>", page, re.S)
    assert row, row_attr
    cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row.group(1), re.S)
    return re.sub(r"<[^>]+>", "", cells[column]).strip()


def test_dashboard_shows_the_figures_as_tables_and_chart_data(history) -> None:
    ws = history["workspace"]
    client = member(ws, Role.ANALYST)
    response = client.get(f"/app/{ws.slug}/", period())
    assert response.status_code == 200
    page = response.content.decode()
    assert _cell(page, 'data-step="started"', 1) == "5"
    assert _cell(page, 'data-step="answered"', 2) == "80.0%"
    assert _cell(page, 'data-step="saved_by_offer"', 1) == "1"
    assert _cell(page, 'data-step="kept"', 1) == "0"
    assert _cell(page, 'data-category="price"', 1) == "2"
    assert _cell(page, 'data-category="price"', 2) == "50.0%"
    assert _cell(page, 'data-category="price"', 3) == "\u221250.0 pp"
    assert _cell(page, f'data-offer="{history["offer"].pk}"', 6) == "$45.00"
    assert 'data-figure="churn_rate"' in page and "2.5%" in page
    data = json.loads(re.search(r'id="dashboard-data"[^>]*>(.*?)</script>', page, re.S).group(1))
    assert data["funnel"]["values"] == [5, 4, 2, 1, 0, 2, 1]
    assert data["reasons"]["values"] == [2, 1, 1]
    assert "/static/vendor/chartjs/chart.umd.js" in page  # our own copy, no CDN
    assert "cdn" not in page.lower()


def test_dashboard_filters_and_bad_filters(history) -> None:
    ws = history["workspace"]
    client = member(ws, Role.ADMIN)
    page = client.get(f"/app/{ws.slug}/", period(plan="Team")).content.decode()
    assert _cell(page, 'data-step="started"', 1) == "2"
    response = client.get(f"/app/{ws.slug}/", {"from": "someday"})
    assert response.status_code == 200
    assert "must be a date" in response.content.decode()


def test_dashboard_in_chinese(history) -> None:
    ws = history["workspace"]
    client = member(ws, Role.ANALYST)
    page = client.get(f"/app/{ws.slug}/", period(), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "价格" in page
    assert "漏斗" in page


def test_roles_and_tenants(history) -> None:
    ws = history["workspace"]
    support = member(ws, Role.SUPPORT)
    response = support.get(f"/app/{ws.slug}/")
    assert response.status_code == 302 and response["Location"].endswith("/inbox/")
    assert support.get(f"/app/{ws.slug}/words/").status_code == 403
    assert support.get(f"/app/{ws.slug}/export/sessions.csv").status_code == 403
    other = make_workspace(slug="elsewhere")
    outsider = member(other, Role.ADMIN)
    assert outsider.get(f"/app/{ws.slug}/").status_code == 404
    answer = Response.objects.get(session=history["sessions"]["s3"])
    response = outsider.post(f"/app/{other.slug}/words/{answer.pk}/category", {"category": "price"})
    assert response.status_code == 404
    answer.refresh_from_db()
    assert answer.category_id == "missing_features"
    assert Client().get(f"/app/{ws.slug}/").status_code == 302  # to the sign-in page


def test_words_search_and_relabel_updates_the_figures(history) -> None:
    ws = history["workspace"]
    client = member(ws, Role.ANALYST)
    page = client.get(f"/app/{ws.slug}/words/", period(q="API")).content.decode()
    assert "=no API" in page and "busy season" not in page
    page = client.get(f"/app/{ws.slug}/words/", period(category="not_needed")).content.decode()
    assert "busy season" in page and "too pricey" not in page

    answer = Response.objects.get(session=history["sessions"]["s3"])
    back = f"/app/{ws.slug}/words/?from=2026-03-01&to=2026-03-03"
    response = client.post(
        f"/app/{ws.slug}/words/{answer.pk}/category", {"category": "price", "next": back}
    )
    assert response.status_code == 302 and response["Location"] == back
    answer.refresh_from_db()
    assert (answer.category_id, answer.category_source) == ("price", "manual")
    page = client.get(f"/app/{ws.slug}/", period()).content.decode()
    assert _cell(page, 'data-category="price"', 1) == "3"

    response = client.post(
        f"/app/{ws.slug}/words/{answer.pk}/category",
        {"category": "nonsense", "next": "https://evil.example/"},
        follow=True,
    )
    assert response.status_code == 200
    assert "Unknown category" in response.content.decode()
    assert response.redirect_chain[-1][0].startswith(f"/app/{ws.slug}/words/")


def test_csv_downloads_match_the_page(history) -> None:
    ws = history["workspace"]
    client = member(ws, Role.ANALYST)
    response = client.get(f"/app/{ws.slug}/export/sessions.csv", period(plan="Pro"))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 3 and {r["plan"] for r in rows} == {"Pro"}
    response = client.get(f"/app/{ws.slug}/export/figures.csv", period())
    figures = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert figures[0] == ["table", "row", "figure", "value"]
    assert ["funnel", "started", "sessions", "5"] in figures
    assert ["headline", "save_rate", "value", "0.25"] in figures
    assert ["category", "price", "sessions", "2"] in figures
    assert ["offer", history["offer"].name, "discount_cost_cents", "4500"] in figures
    assert ["churn", "churn_rate", "value", "2.5"] in figures
    bad = client.get(f"/app/{ws.slug}/export/figures.csv", {"to": "nope"})
    assert bad.status_code == 400


def test_a_new_workspace_gets_an_empty_dashboard_not_an_error(db) -> None:
    ws = make_workspace(slug="brand-new")
    client = member(ws, Role.ADMIN)
    page = client.get(f"/app/{ws.slug}/").content.decode()
    assert "No answers in this period." in page
    assert "No offer was shown in this period." in page
    assert _cell(page, 'data-step="started"', 1) == "0"
    assert client.get(f"/app/{ws.slug}/words/").status_code == 200
    rows = b"".join(client.get(f"/app/{ws.slug}/export/sessions.csv").streaming_content)
    assert rows.decode().count("\n") == 1  # the header only


def test_dashboard_counts_the_alerts_raised_for_the_period(
    db, settings, django_capture_on_commit_callbacks
) -> None:
    from alerts.models import Alert, AlertStatus
    from surveys.services import session_answer, session_cancel
    from tests.alerts.conftest import make_rule, make_team
    from tests.factories import make_session

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    ws = make_workspace(slug="alerted")
    make_rule(ws, make_team(ws, "Success"), outcomes=["cancelled"])
    make_rule(ws, make_team(ws, "Product"), categories=["missing_features"])
    with django_capture_on_commit_callbacks(execute=True):
        for reason in ("too_expensive", "missing_feature", "missing_feature"):
            session = make_session(ws)
            session_answer(token=session.token, reason_code=reason)
            session_cancel(token=session.token)
    Alert.objects.filter(team__name="Success").order_by("pk").filter(
        pk=Alert.objects.filter(team__name="Success").order_by("pk").first().pk
    ).update(status=AlertStatus.WON_BACK)
    page = member(ws, Role.ANALYST).get(f"/app/{ws.slug}/").content.decode()
    table = re.search(r'id="table-alerts">(.*?)</table>', page, re.S).group(1)
    rows = [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r)]
        for r in re.findall(r"<tr>(.*?)</tr>", table, re.S)
    ]
    assert rows[1:] == [
        ["Success", "3", "2", "0", "1", "0"],
        ["Product", "2", "2", "0", "0", "0"],
    ]


def test_words_page_caps_its_count_and_still_pages(history, monkeypatch) -> None:
    """A workspace with millions of answers pages through them without counting
    them all: past the cap the page says "more than" and keeps Older/Newer."""
    from analytics.views import WordsPaginator

    ws = history["workspace"]
    client = member(ws, Role.ANALYST)
    everything = client.get(f"/app/{ws.slug}/words/", period()).content.decode()
    assert "answers with words" in everything and "More than" not in everything

    monkeypatch.setattr(WordsPaginator, "CAP", 1)
    monkeypatch.setattr(WordsPaginator, "PER_PAGE", 1)
    page = client.get(f"/app/{ws.slug}/words/", period()).content.decode()
    assert "More than 1 answers with words" in page
    pager = re.search(r"<span>(Page[^<]*)</span>", page)
    assert pager is not None and pager.group(1) == "Page 1"
    assert "Older" in page
    second = client.get(f"/app/{ws.slug}/words/", period(page="2")).content.decode()
    assert "Newer" in second


@pytest.mark.parametrize("cap", [10_000, 1])
@pytest.mark.parametrize("asked", ["abc", "0", "-3", "999999"])
def test_words_page_answers_a_bad_page_number_with_a_page(
    history, monkeypatch, cap: int, asked: str
) -> None:
    """An edited or stale link (not a number, below 1, past the last answer)
    shows a page of answers, capped count or not: never an error."""
    from analytics.views import WordsPaginator

    monkeypatch.setattr(WordsPaginator, "CAP", cap)
    monkeypatch.setattr(WordsPaginator, "PER_PAGE", 1)
    ws = history["workspace"]
    response = member(ws, Role.ANALYST).get(f"/app/{ws.slug}/words/", period(page=asked))
    assert response.status_code == 200
    page = response.content.decode()
    assert re.search(r"<span>Page \d+", page)
    assert page.count("<tr data-response=") == 1  # one answer a page, as set


def test_answers_carry_their_sessions_start(history) -> None:
    for answer in Response.objects.select_related("session"):
        assert answer.session_created_at == answer.session.created_at


def test_words_pages_past_the_cap_reach_the_oldest_answer(history, monkeypatch) -> None:
    """Past the cap the pages go on to the oldest answer, in the same order as
    without the cap, and together hold the answers with words of the CSV."""
    from analytics.views import WordsPaginator

    ws = history["workspace"]
    client = member(ws, Role.ANALYST)
    quotes = re.compile(r'<td class="quote"[^>]*>“([^”]*)”</td>')
    uncapped = quotes.findall(client.get(f"/app/{ws.slug}/words/", period()).content.decode())
    assert uncapped == ["busy season", "=no API", "too pricey for us"]

    monkeypatch.setattr(WordsPaginator, "CAP", 1)
    monkeypatch.setattr(WordsPaginator, "PER_PAGE", 1)
    seen = []
    for number in (1, 2, 3):
        page = client.get(f"/app/{ws.slug}/words/", period(page=str(number))).content.decode()
        seen += quotes.findall(page)
        assert ("Older" in page) == (number < 3)
        assert ("Newer" in page) == (number > 1)
    assert seen == uncapped
    # A page past the end (an old link): a page of answers, not an error.
    beyond = client.get(f"/app/{ws.slug}/words/", period(page="9"))
    assert beyond.status_code == 200 and len(quotes.findall(beyond.content.decode())) == 1

    response = client.get(f"/app/{ws.slug}/export/sessions.csv", period())
    rows = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    assert sorted(r["text"].lstrip("'") for r in rows if r["text"]) == sorted(uncapped)


def test_a_search_of_the_words_counts_fewer_before_saying_more_than(history, monkeypatch) -> None:
    """A search counts its matches up to a lower cap than the whole list (each
    match is looked for answer by answer); past it, "more than", and pages on."""
    from analytics.views import WordsPaginator

    monkeypatch.setattr(WordsPaginator, "SEARCH_CAP", 1)
    monkeypatch.setattr(WordsPaginator, "PER_PAGE", 1)
    ws = history["workspace"]
    client = member(ws, Role.ANALYST)
    everything = client.get(f"/app/{ws.slug}/words/", period()).content.decode()
    assert "More than" not in everything  # the whole list keeps its own cap
    found = client.get(f"/app/{ws.slug}/words/", period(q="i")).content.decode()
    assert "More than 1 answers with words" in found and "Older" in found
    second = client.get(f"/app/{ws.slug}/words/", period(q="i", page="2")).content.decode()
    assert "Newer" in second and "Older" not in second
    one = client.get(f"/app/{ws.slug}/words/", period(q="busy")).content.decode()
    assert "1 answer with words" in one and "More than" not in one
