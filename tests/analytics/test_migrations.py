"""Upgrading a database that already holds summarised rollups (the rows summed
over survey, plan and locale that ``totals`` marked): the migration to grains adds
the summarised days up into the new grains, so every figure and a recount agree at
once, and it can be undone."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.management import call_command
from django.db import connection

from analytics.models import SessionRollup
from analytics.selectors import AnalyticsFilters, breakdown, headline, trends
from analytics.services import rollups_rebuild, rollups_summarize
from tests.analytics.conftest import build_history

pytestmark = pytest.mark.django_db(transaction=True)


def test_summarised_days_are_added_up_into_the_new_grains() -> None:
    workspace = build_history()["workspace"]
    rollups_summarize(workspace=workspace, until=date(2026, 3, 3))
    summed_before = SessionRollup.objects.filter(workspace=workspace, grain="total").count()
    try:
        call_command("migrate", "analytics", "0002", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM analytics_sessionrollup WHERE totals")
            assert cursor.fetchone()[0] == summed_before > 0
    finally:
        call_command("migrate", verbosity=0)  # every app: alerts 0005 follows analytics 0007

    assert rollups_rebuild(workspace=workspace, apply=False).ok
    assert {"plan", "survey", "locale"} <= set(
        SessionRollup.objects.filter(workspace=workspace).values_list("grain", flat=True)
    )
    march = AnalyticsFilters(date_from=date(2026, 2, 23), date_to=date(2026, 3, 3))
    for narrow in ({"plan": "Pro"}, {"locale": "zh-hans"}):
        filters = AnalyticsFilters(**{**march.__dict__, **narrow})
        assert headline(workspace=workspace, filters=filters) == headline(
            workspace=workspace, filters=filters, source="raw"
        )
        assert trends(workspace=workspace, filters=filters, interval="week") == trends(
            workspace=workspace, filters=filters, interval="week", source="raw"
        )
    assert breakdown(workspace=workspace, filters=march, by="plan") == breakdown(
        workspace=workspace, filters=march, by="plan", source="raw"
    )


def test_summarised_days_are_added_up_into_the_pair_grains() -> None:
    workspace = build_history()["workspace"]
    rollups_summarize(workspace=workspace, until=date(2026, 3, 3))
    pairs = {"survey_plan", "survey_locale", "plan_locale"}

    def pair_rows() -> dict[str, int]:
        rows = SessionRollup.objects.filter(workspace=workspace, grain__in=pairs)
        return {g: rows.filter(grain=g).count() for g in pairs}

    summarised = pair_rows()
    assert all(summarised.values())
    try:
        call_command("migrate", "analytics", "0004", verbosity=0)
        assert not any(pair_rows().values())
    finally:
        call_command("migrate", verbosity=0)  # every app: alerts 0005 follows analytics 0007

    assert pair_rows() == summarised
    assert rollups_rebuild(workspace=workspace, apply=False).ok
    survey = workspace.surveys.get().pk
    march = AnalyticsFilters(date_from=date(2026, 2, 23), date_to=date(2026, 3, 3))
    for narrow in (
        {"plan": "Pro", "locale": "en"},
        {"survey_id": survey, "plan": "Team"},
        {"survey_id": survey, "locale": "zh-hans"},
    ):
        filters = AnalyticsFilters(**{**march.__dict__, **narrow})
        assert headline(workspace=workspace, filters=filters) == headline(
            workspace=workspace, filters=filters, source="raw"
        )
        assert trends(workspace=workspace, filters=filters, interval="day") == trends(
            workspace=workspace, filters=filters, interval="day", source="raw"
        )
