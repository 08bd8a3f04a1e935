"""Analytics reads are planned for their own values: with prepared statements on
(PostgreSQL), the statements of an analytics view run under
``plan_cache_mode = force_custom_plan``, set before and reset after."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from config.db import custom_plans
from tests.analytics.conftest import build_history, period
from tests.factories import make_api_key

pytestmark = pytest.mark.django_db

prepared = connection.vendor == "postgresql" and bool(
    (connection.settings_dict.get("OPTIONS") or {}).get("server_side_binding")
)


def plan_cache_mode() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        return str(cursor.fetchone()[0])


def test_custom_plans_within_and_as_before_after() -> None:
    with CaptureQueriesContext(connection) as seen, custom_plans():
        pass
    if not prepared:  # nothing is kept, nothing to change
        assert seen.captured_queries == []
        return
    assert [q["sql"] for q in seen.captured_queries] == [
        "SET plan_cache_mode = force_custom_plan",
        "RESET plan_cache_mode",
    ]
    with custom_plans():
        assert plan_cache_mode() == "force_custom_plan"
    assert plan_cache_mode() == "auto"


def test_a_failed_transaction_within_raises_its_own_error_and_undoes_the_setting() -> None:
    failing = pytest.raises(DatabaseError, match="no_such_table")
    with failing, transaction.atomic(), custom_plans(), connection.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table")
    if prepared:  # the rollback undid the SET: cached plans again
        assert plan_cache_mode() == "auto"


def test_the_analytics_api_plans_its_reads_for_their_values() -> None:
    history = build_history()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(history['workspace'])}")
    with CaptureQueriesContext(connection) as seen:
        body = api.get("/api/v1/analytics/trends", {**period(), "interval": "day"}).json()
    assert [p["started"] for p in body["periods"]] == [1, 3, 1]
    statements = [q["sql"] for q in seen.captured_queries]
    if not prepared:
        assert not any("plan_cache_mode" in s for s in statements)
        return
    assert statements[0] == "SET plan_cache_mode = force_custom_plan"
    assert statements[-1] == "RESET plan_cache_mode"
