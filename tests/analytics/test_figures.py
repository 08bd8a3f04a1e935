"""Every figure against counts worked out by hand (see conftest.py's history)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.selectors import (
    AnalyticsFilters,
    breakdown,
    churn_rates,
    filters_parse,
    funnel,
    headline,
    offer_performance,
    reasons,
    trends,
)
from config.errors import Invalid
from surveys.models import Response
from surveys.services import response_relabel

PERIOD = AnalyticsFilters(date_from=date(2026, 3, 1), date_to=date(2026, 3, 3))


@pytest.mark.parametrize("source", ["rollup", "raw"])
def test_funnel_and_headline(history, source) -> None:
    figures = headline(workspace=history["workspace"], filters=PERIOD, source=source)
    assert [(s["step"], s["sessions"]) for s in figures["steps"]] == [
        ("started", 5),
        ("answered", 4),
        ("offered", 2),
        ("saved_by_offer", 1),
        ("kept", 0),
        ("cancelled", 2),
        ("abandoned", 1),
    ]
    assert figures["open"] == 1
    assert figures["conversion"] == {
        "answered_of_started": 0.8,
        "offered_of_answered": 0.5,
        "saved_of_offered": 0.5,
    }
    assert figures["save_rate"] == 0.25  # 1 saved of 4 with an outcome
    assert figures["mrr_saved_cents"] == 5000
    assert figures["mrr_lost_cents"] == 13000
    assert figures["mrr_at_risk_abandoned_cents"] == 2000
    assert figures["discount_cost_cents"] == 4500  # $50 x 30% x 3 months
    assert (figures["active_churn"], figures["passive_churn"]) == (2, 1)
    assert figures["avg_seconds_to_complete"] == 70.0  # (120 + 60 + 30) / 3
    # The previous period (Feb 26-28) had s0 only.
    assert figures["previous"]["started"] == 1
    assert figures["change"]["started"] == 4.0
    assert figures["previous"]["save_rate"] == 0.0
    # A rate changes in percentage points: from 0% to 25% is +25 pp (a relative
    # change would have no base).
    assert figures["change"]["save_rate"] == 0.25
    assert figures["currency"] == "USD"
    assert figures["mrr_saved_by_currency"] == {"USD": 5000}
    assert figures["discount_cost_by_currency"] == {"USD": 4500}
    assert figures["churn"] == {
        "start_date": date(2026, 2, 28),
        "end_date": date(2026, 3, 3),
        "active_at_start": 1000,
        "active_at_end": 990,
        "new": 15,
        "lost": 25,  # 1000 + 15 - 990
        "churn_rate": 2.5,
        "retention_rate": 97.5,  # (990 - 15) / 1000
    }


def test_days_follow_the_workspace_time_zone(history) -> None:
    ws = history["workspace"]

    def started(day: int) -> int:
        one = AnalyticsFilters(date_from=date(2026, 3, day), date_to=date(2026, 3, day))
        return funnel(workspace=ws, filters=one)["started"]

    # s2 began at 16:30 UTC on Mar 1, which is 00:30 on Mar 2 in Shanghai.
    assert (started(1), started(2), started(3)) == (1, 3, 1)
    daily = trends(workspace=ws, filters=PERIOD, interval="day")
    assert [(p["start"], p["started"]) for p in daily["periods"]] == [
        (date(2026, 3, 1), 1),
        (date(2026, 3, 2), 3),
        (date(2026, 3, 3), 1),
    ]


@pytest.mark.parametrize("source", ["rollup", "raw"])
def test_reasons_with_share_and_change(history, source) -> None:
    found = reasons(workspace=history["workspace"], filters=PERIOD, source=source)
    assert found["answered"] == 4
    assert found["previous_answered"] == 1
    rows = {c["category"]: c for c in found["categories"]}
    assert list(rows) == ["price", "missing_features", "not_needed"]
    price = rows["price"]
    assert (price["sessions"], price["share"], price["saved"]) == (2, 0.5, 1)
    assert price["mrr_lost_cents"] == 3000
    assert price["previous"] == 1 and price["change"] == 1.0
    assert price["share_change"] == -0.5  # 50% now, 100% before
    assert rows["missing_features"]["mrr_lost_cents"] == 10000
    assert rows["not_needed"]["share"] == 0.25
    assert price["reasons"][0]["reason"] == "too_expensive"
    assert price["reasons"][0]["label"] == "It's too expensive"
    zh = reasons(workspace=history["workspace"], filters=PERIOD, locale="zh-hans", source=source)
    assert zh["categories"][0]["reasons"][0]["label"] == "价格太贵了"


def test_trends_by_week_and_month(history) -> None:
    ws = history["workspace"]
    weekly = trends(workspace=ws, filters=PERIOD, interval="week")
    # 2026-03-01 is a Sunday: it belongs to the week of Monday Feb 23.
    assert [(p["start"], p["started"], p["answered"]) for p in weekly["periods"]] == [
        (date(2026, 2, 23), 1, 1),
        (date(2026, 3, 2), 4, 3),
    ]
    second = weekly["periods"][1]
    assert second["categories"]["price"] == {"sessions": 1, "share": 0.3333}
    assert (second["saved"], second["cancelled"], second["abandoned"]) == (0, 2, 1)
    assert second["save_rate"] == 0.0
    monthly = trends(
        workspace=ws,
        filters=AnalyticsFilters(date_from=date(2026, 2, 1), date_to=date(2026, 3, 31)),
        interval="month",
    )
    assert [(p["start"], p["started"]) for p in monthly["periods"]] == [
        (date(2026, 2, 1), 1),
        (date(2026, 3, 1), 5),
    ]
    with pytest.raises(Invalid):
        trends(workspace=ws, filters=PERIOD, interval="year")


def test_offer_performance(history) -> None:
    (row,) = offer_performance(workspace=history["workspace"], filters=PERIOD)["offers"]
    assert row["offer"] == history["offer"].pk
    assert (row["shown"], row["accepted"], row["declined"], row["abandoned"]) == (2, 1, 1, 0)
    assert row["save_rate"] == 0.5
    assert (row["mrr_saved_cents"], row["discount_cost_cents"]) == (5000, 4500)
    # Over the same 3 months: $150 of MRR kept against the $45 the discount gives away.
    assert (row["mrr_kept_over_horizon_cents"], row["cost_over_horizon_cents"]) == (15000, 4500)
    assert row["net_over_horizon_cents"] == 10500


def test_filters_by_plan_and_locale(history) -> None:
    ws = history["workspace"]
    pro = AnalyticsFilters(date_from=date(2026, 3, 1), date_to=date(2026, 3, 3), plan="Pro")
    assert funnel(workspace=ws, filters=pro)["started"] == 3
    chinese = AnalyticsFilters(
        date_from=date(2026, 3, 1), date_to=date(2026, 3, 3), locale="zh-hans"
    )
    assert funnel(workspace=ws, filters=chinese)["started"] == 1
    # s4 never chose a language: it counts under the workspace's default (en).
    english = AnalyticsFilters(date_from=date(2026, 3, 1), date_to=date(2026, 3, 3), locale="en")
    assert funnel(workspace=ws, filters=english)["started"] == 4
    assert funnel(workspace=ws, filters=english, source="raw")["started"] == 4
    plans = {row["plan"]: row for row in breakdown(workspace=ws, filters=PERIOD, by="plan")}
    assert (plans["Pro"]["started"], plans["Pro"]["saved"], plans["Pro"]["cancelled"]) == (3, 1, 1)
    assert (plans["Team"]["started"], plans["Team"]["abandoned"]) == (2, 1)
    assert plans["Team"]["mrr_lost_cents"] == 10000


def test_relabelling_an_answer_moves_the_figures(history) -> None:
    ws = history["workspace"]
    answer = Response.objects.get(session=history["sessions"]["s3"])
    response_relabel(workspace=ws, response_id=answer.pk, category_code="price")
    rows = {c["category"]: c for c in reasons(workspace=ws, filters=PERIOD)["categories"]}
    assert rows["price"]["sessions"] == 3
    assert "missing_features" not in rows
    assert reasons(workspace=ws, filters=PERIOD) == reasons(
        workspace=ws, filters=PERIOD, source="raw"
    )


def test_churn_needs_the_counts(history) -> None:
    later = AnalyticsFilters(date_from=date(2026, 2, 1), date_to=date(2026, 2, 27))
    assert churn_rates(workspace=history["workspace"], filters=later) is None  # no start count


def test_filters_parse_refuses_bad_input(history) -> None:
    ws = history["workspace"]
    for params, code in [
        ({"from": "2026-13-01"}, "invalid_date"),
        ({"from": "2026-03-05", "to": "2026-03-01"}, "invalid_range"),
        ({"from": "2020-01-01", "to": "2026-03-01"}, "range_too_long"),
        ({"survey": "abc"}, "invalid_survey"),
        ({"locale": "fr"}, "invalid_locale"),
    ]:
        with pytest.raises(Invalid) as error:
            filters_parse(workspace=ws, params=params)
        assert error.value.code == code


@pytest.mark.parametrize("summarised_until", [None, date(2026, 3, 2), date(2026, 4, 1)])
def test_rollups_read_by_weeks_months_and_grains_give_the_raw_figures(
    history, summarised_until
) -> None:
    from analytics.models import RollupSummary
    from analytics.services import rollups_rebuild, rollups_summarize

    ws = history["workspace"]
    if summarised_until:
        rollups_summarize(workspace=ws, until=summarised_until)
        assert RollupSummary.objects.get(workspace=ws).until == summarised_until
    ranges = [
        (date(2026, 2, 1), date(2026, 3, 31)),  # whole months
        (date(2026, 2, 23), date(2026, 3, 8)),  # whole weeks (Monday to Sunday)
        (date(2026, 2, 25), date(2026, 3, 3)),  # parts of both
        (date(2025, 12, 30), date(2026, 3, 2)),  # months, weeks and days
    ]

    def both(figure: Any, filters: AnalyticsFilters, **extra: Any) -> None:
        rollup = figure(workspace=ws, filters=filters, **extra)
        raw = figure(workspace=ws, filters=filters, source="raw", **extra)
        assert rollup == raw, (figure.__name__, filters, extra)

    survey = ws.surveys.get().pk
    # No filter (the totals), one filter (its own grain), two (their pair's grain)
    # and three (the detail rows).
    narrowing: list[dict[str, Any]] = [
        {},
        {"plan": "Pro"},
        {"locale": "zh-hans"},
        {"survey_id": survey},
        {"plan": "Pro", "locale": "en"},
        {"survey_id": survey, "plan": "Team"},
        {"survey_id": survey, "locale": "zh-hans"},
        {"survey_id": survey, "plan": "Pro", "locale": "en"},
    ]

    def check() -> None:
        for date_from, date_to in ranges:
            for narrow in narrowing:
                filters = AnalyticsFilters(date_from=date_from, date_to=date_to, **narrow)
                both(headline, filters)
                both(reasons, filters)
                both(offer_performance, filters)
                for interval in ("day", "week", "month"):
                    both(trends, filters, interval=interval)
                for by in ("plan", "locale", "survey"):
                    both(breakdown, filters, by=by)
        assert rollups_rebuild(workspace=ws, apply=False).ok

    check()
    # A late change to a summarised day moves the summary rows too.
    answer = Response.objects.get(session=history["sessions"]["s3"])
    response_relabel(workspace=ws, response_id=answer.pk, category_code="price")
    check()


def test_a_read_takes_the_coarsest_grain_that_keeps_its_filters_apart() -> None:
    from analytics.models import grain_for

    assert grain_for(set()) == "total"
    assert grain_for({"plan"}) == "plan"
    assert grain_for({"locale", "plan"}) == "plan_locale"
    assert grain_for({"survey_id", "plan"}) == "survey_plan"
    assert grain_for({"survey_id", "locale"}) == "survey_locale"
    assert grain_for({"survey_id", "plan", "locale"}) == "detail"


def test_a_period_is_covered_by_whole_months_weeks_and_days_once() -> None:
    from datetime import timedelta

    from analytics.selectors import rollup_cover

    start = date(2025, 12, 30)
    for length in range(1, 120, 7):
        end = start + timedelta(days=length)
        for periods in ({"day"}, {"day", "week"}, {"day", "month"}, {"day", "week", "month"}):
            cover = rollup_cover(start, end, periods)
            days: list[date] = []
            for period, first, last in cover:
                assert period in periods
                step = first
                while step <= last:
                    if period == "day":
                        days.append(step)
                        step += timedelta(days=1)
                    elif period == "week":
                        assert step.weekday() == 0
                        days += [step + timedelta(days=i) for i in range(7)]
                        step += timedelta(days=7)
                    else:
                        assert step.day == 1
                        following = (step.replace(day=28) + timedelta(days=4)).replace(day=1)
                        days += [step + timedelta(days=i) for i in range((following - step).days)]
                        step = following
            assert sorted(days) == [start + timedelta(days=i) for i in range(length + 1)]


@pytest.mark.parametrize("summarised_until", [None, date(2026, 3, 2)])
def test_grouped_several_ways_at_once_gives_each_grouping_on_its_own(
    history, summarised_until
) -> None:
    from django.db import connection

    from analytics.selectors import grouped_sets, rollup_grouped
    from analytics.services import rollups_summarize

    ws = history["workspace"]
    if summarised_until:
        rollups_summarize(workspace=ws, until=summarised_until)
    # GROUPING SETS is PostgreSQL's: elsewhere only the statement per set is made.
    ways = [False, True] if connection.vendor == "postgresql" else [False]
    cases: list[tuple[AnalyticsFilters, list[tuple[str, ...]], str]] = [
        (PERIOD, [("day", "outcome"), ("day", "category_code")], "day"),
        (
            AnalyticsFilters(date(2026, 2, 1), date(2026, 3, 31), plan="Pro"),
            [("day", "outcome"), ("day", "category_code")],
            "week",
        ),
        (
            AnalyticsFilters(date(2026, 2, 1), date(2026, 3, 31), locale="zh-hans"),
            [("reason_code", "outcome"), ("plan",), ("offer_id", "survey_id")],
            "day",
        ),
        (AnalyticsFilters(date(2025, 1, 1), date(2025, 1, 31)), [("outcome",), ("plan",)], "day"),
    ]
    for filters, sets, bucket in cases:
        alone = [
            sorted(
                tuple(row.values())
                for row in rollup_grouped(
                    workspace=ws, filters=filters, group_by=group_by, bucket=bucket
                )
            )
            for group_by in sets
        ]
        assert any(alone) or filters.date_to.year == 2025
        for one_statement in ways:
            found = grouped_sets(
                workspace=ws,
                filters=filters,
                sets=sets,
                bucket=bucket,
                one_statement=one_statement,
            )
            assert [sorted(rows) for rows in found] == alone, (filters, sets, one_statement)
        if bucket == "day":  # a raw recount has days only, not weeks
            raw = grouped_sets(workspace=ws, filters=filters, sets=sets, source="raw")
            assert [sorted(rows) for rows in raw] == alone, (filters, sets, "raw")
    for refused in ([("day",), ("outcome",)], [("outcome",), ("outcome",)], [("outcome",), ()]):
        with pytest.raises(ValueError):
            grouped_sets(workspace=ws, filters=PERIOD, sets=refused)


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    posted=st.dictionaries(
        st.integers(min_value=0, max_value=20),  # day of March: (active, new)
        st.tuples(st.integers(min_value=0, max_value=50), st.integers(min_value=0, max_value=9)),
        max_size=12,
    ),
    first=st.integers(min_value=0, max_value=20),
    length=st.integers(min_value=1, max_value=10),
)
def test_churn_follows_its_definition_whatever_days_were_posted(
    posted: dict[int, tuple[int, int]], first: int, length: int
) -> None:
    """S: the last count before the period; E: the last within it; N: the new
    subscribers after S up to E (see DESIGN.md), whichever days the host posted."""
    from datetime import timedelta

    from analytics.models import SubscriberCount
    from tests.factories import make_workspace

    march = date(2026, 3, 1)
    ws = make_workspace()
    SubscriberCount.objects.bulk_create(
        SubscriberCount(workspace=ws, date=march + timedelta(days=d), active=a, new=n)
        for d, (a, n) in posted.items()
    )
    filters = AnalyticsFilters(
        date_from=march + timedelta(days=first),
        date_to=march + timedelta(days=first + length - 1),
    )
    found = churn_rates(workspace=ws, filters=filters)
    days = sorted(posted)
    before = [d for d in days if d < first]
    within = [d for d in days if first <= d < first + length]
    if not before or not within or not posted[before[-1]][0]:
        assert found is None
        return
    s, e = posted[before[-1]][0], posted[within[-1]][0]
    new = sum(posted[d][1] for d in days if before[-1] < d <= within[-1])
    lost = max(s + new - e, 0)
    assert found is not None
    assert (found["start_date"], found["end_date"]) == (
        march + timedelta(days=before[-1]),
        march + timedelta(days=within[-1]),
    )
    assert (found["active_at_start"], found["active_at_end"], found["new"]) == (s, e, new)
    assert found["lost"] == lost
    assert found["churn_rate"] == round(lost / s * 100, 2)
    assert found["retention_rate"] == round((e - new) / s * 100, 2)
