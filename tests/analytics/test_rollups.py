"""Rollups always equal a recount of the raw sessions, whatever the flow does."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.models import SessionRollup
from analytics.selectors import AnalyticsFilters, funnel, reasons, trends
from analytics.services import rollups_compact, rollups_rebuild
from config.errors import ServiceError
from surveys.models import CancelSession
from surveys.services import (
    response_relabel,
    session_accept,
    session_answer,
    session_cancel,
    session_keep,
    session_set_locale,
    sessions_abandon_stale,
)
from tests.factories import make_offer, make_session, make_workspace

START = datetime(2026, 3, 1, 15, 0, tzinfo=UTC)
REASONS = ["too_expensive", "missing_feature", "not_using", "switching", "other", "no_such_reason"]
CATEGORIES = ["price", "competitor", "product_quality", "other"]

event = st.one_of(
    st.tuples(
        st.just("open"),
        st.integers(0, 3),
        st.sampled_from(["", "en", "zh-hans"]),
        st.sampled_from(["Pro", "Team"]),
    ),
    st.tuples(
        st.just("answer"),
        st.integers(0, 3),
        st.sampled_from(REASONS),
        st.sampled_from(["", "too pricey", "switched to Rival"]),
    ),
    st.tuples(st.just("accept"), st.integers(0, 3)),
    st.tuples(st.just("cancel"), st.integers(0, 3)),
    st.tuples(st.just("keep"), st.integers(0, 3)),
    st.tuples(st.just("locale"), st.integers(0, 3), st.sampled_from(["en", "zh-hans"])),
    st.tuples(st.just("relabel"), st.integers(0, 3), st.sampled_from(CATEGORIES)),
    st.tuples(st.just("wait"), st.integers(1, 30 * 60)),  # minutes
    st.tuples(st.just("abandon_stale")),
)


def _run(workspace: Any, events: list[tuple[Any, ...]]) -> None:
    now = START
    open_by_sub: dict[int, CancelSession] = {}
    for ev in events:
        kind, *args = ev
        session = open_by_sub.get(args[0]) if args and kind not in ("wait",) else None
        try:
            if kind == "open":
                open_by_sub[args[0]] = make_session(
                    workspace,
                    subscription_id=f"sub_{args[0]}",
                    customer_id=f"cus_{args[0]}",
                    plan=args[2],
                    mrr_cents=1000 * (args[0] + 1),
                    locale=args[1] or None,
                    now=now,
                )
            elif kind == "wait":
                now += timedelta(minutes=args[0])
            elif kind == "abandon_stale":
                sessions_abandon_stale(now=now)
            elif session is None:
                continue
            elif kind == "answer":
                session_answer(token=session.token, reason_code=args[1], text=args[2], now=now)
            elif kind == "accept":
                session.refresh_from_db()
                session_accept(token=session.token, offer_id=session.offer_id or -1, now=now)
            elif kind == "cancel":
                session_cancel(token=session.token, now=now)
            elif kind == "keep":
                session_keep(token=session.token, now=now)
            elif kind == "locale":
                session_set_locale(token=session.token, locale=args[1])
            elif kind == "relabel":
                response = getattr(CancelSession.objects.get(pk=session.pk), "response", None)
                if response is not None:
                    response_relabel(
                        workspace=workspace,
                        response_id=response.pk,
                        category_code=args[1],
                        now=now,
                    )
        except ServiceError:
            pass  # refused transitions must leave the rollups untouched too


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events=st.lists(event, min_size=1, max_size=25))
def test_random_flow_events_leave_rollups_equal_to_a_recount(events: list[Any]) -> None:
    workspace = make_workspace(time_zone="America/Los_Angeles")
    make_offer(workspace, categories=["price", "not_needed"])
    _run(workspace, events)

    report = rollups_rebuild(workspace=workspace, apply=False)
    assert report.differences == []
    assert report.sessions_counted == CancelSession.objects.filter(workspace=workspace).count()
    whole = AnalyticsFilters(date_from=date(2026, 2, 1), date_to=date(2026, 4, 30))
    assert funnel(workspace=workspace, filters=whole) == funnel(
        workspace=workspace, filters=whole, source="raw"
    )
    assert reasons(workspace=workspace, filters=whole) == reasons(
        workspace=workspace, filters=whole, source="raw"
    )


def test_rebuild_reports_and_repairs_a_damaged_rollup(db: None, capsys: Any) -> None:
    workspace = make_workspace(slug="damaged")
    make_offer(workspace)
    for i in range(3):
        session = make_session(workspace, now=START + timedelta(hours=i))
        at = START + timedelta(hours=i)
        session_answer(token=session.token, reason_code="too_expensive", now=at)
        session_cancel(token=session.token, now=at + timedelta(minutes=2))
    assert rollups_rebuild(workspace=workspace, apply=False).ok

    SessionRollup.objects.filter(workspace=workspace, outcome="cancelled").delete()
    with pytest.raises(SystemExit) as exit_info:
        call_command("rebuild_rollups", "--workspace", "damaged", "--check")
    assert exit_info.value.code == 1
    out = capsys.readouterr().out
    assert "damaged: 3 sessions, 1 rollup keys checked, 1 difference(s)" in out
    assert "sessions 3 counted, 0 in rollups" in out
    assert not rollups_rebuild(workspace=workspace, apply=False).ok

    call_command("rebuild_rollups", "--workspace", "damaged")
    assert rollups_rebuild(workspace=workspace, apply=False).ok
    whole = AnalyticsFilters(date_from=date(2026, 3, 1), date_to=date(2026, 3, 1))
    figures = funnel(workspace=workspace, filters=whole)
    assert (figures["started"], figures["cancelled"]) == (3, 3)
    assert figures["avg_seconds_to_complete"] == 120.0


def test_rebuild_reports_and_repairs_a_damaged_summary_grain(db: None, capsys: Any) -> None:
    """A summed row (here: by plan, over surveys and locales) that drifted is found,
    named by what it keeps apart, and repaired, and the figures read from it are
    right again."""
    from analytics.services import rollups_summarize

    workspace = make_workspace(slug="drifted")
    for i in range(2):
        session = make_session(workspace, plan="Pro", now=START + timedelta(hours=i))
        session_cancel(token=session.token, now=START + timedelta(hours=i, minutes=1))
    rollups_summarize(workspace=workspace, until=date(2026, 4, 1))
    by_plan = SessionRollup.objects.filter(
        workspace=workspace, grain="plan", period="month", plan="Pro"
    )
    assert by_plan.count() == 1
    by_plan.update(sessions=5)
    march = AnalyticsFilters(date_from=date(2026, 3, 1), date_to=date(2026, 3, 31), plan="Pro")
    assert funnel(workspace=workspace, filters=march)["started"] == 5  # read from that row

    with pytest.raises(SystemExit):
        call_command("rebuild_rollups", "--workspace", "drifted", "--check")
    out = capsys.readouterr().out
    assert "1 difference(s)" in out
    assert "month of 2026-03-01 plan=Pro (the rest summed)" in out
    assert "sessions 2 counted, 5 in rollups" in out

    call_command("rebuild_rollups", "--workspace", "drifted")
    assert rollups_rebuild(workspace=workspace, apply=False).ok
    assert funnel(workspace=workspace, filters=march)["started"] == 2


def test_compaction_folds_settled_shards_and_keeps_every_figure(db: None) -> None:
    workspace = make_workspace(slug="compact")
    make_offer(workspace)
    for i in range(24):
        at = START + timedelta(hours=i * 5)
        session = make_session(workspace, now=at)
        session = session_answer(token=session.token, reason_code="too_expensive", now=at)
        if i % 2:
            session_cancel(token=session.token, now=at + timedelta(minutes=1))
        else:
            session_accept(token=session.token, offer_id=session.offer_id or 0, now=at)
    whole = AnalyticsFilters(date_from=date(2026, 3, 1), date_to=date(2026, 3, 31))
    before = (
        funnel(workspace=workspace, filters=whole),
        trends(workspace=workspace, filters=whole),
    )
    assert SessionRollup.objects.filter(workspace=workspace).exclude(shard=0).exists()

    rollups_compact(settled_before=date(2026, 3, 4))

    assert not SessionRollup.objects.filter(day__lt=date(2026, 3, 4)).exclude(shard=0).exists()
    assert SessionRollup.objects.filter(day__gte=date(2026, 3, 4)).exclude(shard=0).exists()
    assert not SessionRollup.objects.filter(sessions=0, day__lt=date(2026, 3, 4)).exists()
    after = (funnel(workspace=workspace, filters=whole), trends(workspace=workspace, filters=whole))
    assert after == before
    assert rollups_rebuild(workspace=workspace, apply=False).ok


def test_compaction_task_runs_under_celery(db: None) -> None:
    from analytics.tasks import rollups_compact as task

    workspace = make_workspace(slug="task-compact")
    session = make_session(workspace, now=START)
    while session.pk.int % 8 == 0:  # a session whose rollup row is not already shard 0
        session = make_session(workspace, now=START)
    session_cancel(token=session.token, now=START + timedelta(minutes=1))
    assert SessionRollup.objects.filter(workspace=workspace).exclude(shard=0).exists()
    assert task.delay().get() >= 1
    assert not SessionRollup.objects.filter(workspace=workspace).exclude(shard=0).exists()
    assert rollups_rebuild(workspace=workspace, apply=False).ok
