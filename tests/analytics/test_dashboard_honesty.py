"""The dashboard does not mislead at the edges (issue #17): axes fit the data, a
rate's change is in percentage points, money is written per language and
currency and never added across currencies, an offer's net sets like against
like, every table header names its column, and scroll regions take the focus."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.utils import translation

from analytics.money import dashboard_money, dashboard_money_split
from analytics.views import axis_max
from surveys.services import session_answer, session_cancel
from tests.analytics.conftest import at, period
from tests.analytics.test_dashboard import _cell, member
from tests.factories import make_session
from workspaces.models import Role


def page_of(history: dict[str, Any], **params: str) -> str:
    ws = history["workspace"]
    response = member(ws, Role.ANALYST).get(f"/app/{ws.slug}/", period(**params))
    assert response.status_code == 200
    return response.content.decode()


def card(page: str, figure: str) -> tuple[str, str]:
    found = re.search(
        rf'data-figure="{figure}">.*?card-value">(.*?)</div>.*?card-change">(.*?)</div>',
        page,
        re.S,
    )
    assert found, figure
    value = re.sub(r"<[^>]+>", "", found.group(1))
    return re.sub(r"\s+", " ", value).strip(), re.sub(r"<[^>]+>", "", found.group(2)).strip()


def test_a_rate_changes_in_points(history: dict[str, Any]) -> None:
    page = page_of(history)

    value, change = card(page, "save_rate")
    # 0% in the period before, 25% now: +25 pp (a relative change has no base).
    assert value == "25.0%"
    assert change.startswith("+25.0 pp")
    # Counts still change relatively: 1 session before, 5 now.
    assert card(page, "started")[1].startswith("+400%")


@pytest.mark.parametrize(
    ("values", "top"),
    [
        ([12.5, 28.0, None], 30.0),
        ([3.0], 5.0),
        ([], 5.0),
        ([None], 5.0),
        ([61.0], 70.0),
        ([100.0], 100.0),
    ],
)
def test_a_percentage_axis_fits_its_data(values: list, top: float) -> None:
    assert axis_max(values) == top


def test_the_trend_chart_axis_fits_the_series(history: dict[str, Any]) -> None:
    page = page_of(history)

    data = json.loads(re.search(r'id="dashboard-data"[^>]*>(.*?)</script>', page, re.S).group(1))
    trends = data["trends"]
    values = [
        v for s in [*trends["series"], trends["save_rate"]] for v in s["values"] if v is not None
    ]
    assert max(values) <= trends["y_max"] < max(values) + 10


def test_every_table_header_cell_names_its_column(history: dict[str, Any]) -> None:
    page = page_of(history)

    headers = re.findall(r"<th[^>]*>(.*?)</th>", page, re.S)
    assert headers
    assert [h for h in headers if not re.sub(r"<[^>]+>", "", h).strip()] == []
    for table in ("table-plans", "table-locales", "table-surveys"):
        first = re.search(rf'id="{table}">\s*<thead><tr><th scope="col">(.*?)</th>', page)
        assert first and first.group(1).strip(), table


def test_scroll_regions_take_the_keyboard_focus(history: dict[str, Any]) -> None:
    page = page_of(history)

    regions = re.findall(r'<div class="scroll"([^>]*)>', page)
    assert len(regions) >= 5  # trends, offers, plans, languages, surveys
    for attributes in regions:
        assert 'tabindex="0"' in attributes
        assert 'role="region"' in attributes
        assert re.search(r'aria-label="[^"]+"', attributes)


def test_money_in_another_currency_is_never_added(history: dict[str, Any]) -> None:
    ws = history["workspace"]
    s = make_session(ws, plan="Pro", mrr_cents=2500, currency="EUR", now=at("2026-03-02T05:00"))
    session_answer(token=s.token, reason_code="too_expensive", now=at("2026-03-02T05:00"))
    session_cancel(token=s.token, now=at("2026-03-02T05:01"))

    page = page_of(history)

    # $130 lost in dollars (s2 and s3), €25 in euros, written apart.
    assert card(page, "mrr_lost_by_currency")[0] == "$130.00 · €25.00"
    assert _cell(page, 'data-category="price"', 5) == "$30.00 · €25.00"
    plans = re.search(r'id="table-plans">(.*?)</table>', page, re.S).group(1)
    assert "$30.00 · €25.00" in plans  # Pro: s2 in dollars, the new one in euros


def test_an_offers_net_sets_three_months_against_three_months(history: dict[str, Any]) -> None:
    page = page_of(history)

    offer = history["offer"].pk
    # $50 of MRR saved; 30% off for 3 months gives away $45; over 3 months $150 is
    # kept, so the net is $105 (not $50 - $45).
    assert _cell(page, f'data-offer="{offer}"', 5) == "$50.00"
    assert _cell(page, f'data-offer="{offer}"', 6) == "$45.00"
    assert _cell(page, f'data-offer="{offer}"', 7) == "$105.00"
    assert "Net over 3 months" in page


def test_money_is_written_per_language_and_currency() -> None:
    with translation.override("en"):
        assert dashboard_money(123450, "USD") == "$1,234.50"
        assert dashboard_money(123450, "JPY") == "¥1,234"  # yen have no minor unit
    with translation.override("de"):
        assert dashboard_money(123450, "EUR") == "1.234,50\xa0€"
    with translation.override("zh-hans"):
        assert dashboard_money(123450, "USD") == "US$1,234.50"
    assert dashboard_money_split(
        {"EUR": 2500, "USD": 13000, "GBP": 0}, home="USD", language="en"
    ) == ("$130.00 · €25.00")
    assert dashboard_money_split({}, home="JPY", language="en") == "¥0"


def test_the_dashboard_writes_money_in_the_workspaces_currency_and_language(
    history: dict[str, Any],
) -> None:
    ws = history["workspace"]
    ws.currency = "JPY"
    ws.save()
    type(history["sessions"]["s1"]).objects.filter(workspace=ws).update(currency="JPY")
    client = member(ws, Role.ANALYST)

    english = client.get(f"/app/{ws.slug}/", period()).content.decode()
    chinese = client.get(
        f"/app/{ws.slug}/", period(), HTTP_ACCEPT_LANGUAGE="zh-CN"
    ).content.decode()

    assert card(english, "mrr_saved_by_currency")[0] == "¥50"
    assert card(chinese, "mrr_saved_by_currency")[0] == "JP¥50"


def test_saves_that_last_are_on_the_dashboard(history: dict[str, Any]) -> None:
    page = page_of(history)

    assert 'id="table-lasting"' in page
    for horizon in (30, 60, 90):
        # s1 was saved on 2026-03-01 (long enough ago) and nothing cancelled it.
        assert _cell(page, f'data-horizon="{horizon}"', 1) == "1"
        assert _cell(page, f'data-horizon="{horizon}"', 4) == "100.0%"
