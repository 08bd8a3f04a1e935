"""Searching the customers' words on PostgreSQL: the trigram index exists, the
planner takes it for a rare word among thousands of answers, and searches find the
same answers through it as without it (in English and Chinese, short words and
wildcard characters included)."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pytest
from django.db import connection, transaction

from analytics.selectors import AnalyticsFilters, verbatims
from surveys.models import CancelSession, Response
from surveys.services import session_answer
from tests.analytics.conftest import at, build_history
from tests.factories import make_session

pytestmark = pytest.mark.django_db


def plan_of(sql: str, params: tuple[object, ...]) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_trigram_index_is_there() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'response_words_trgm'")
        (definition,) = cursor.fetchone()
    assert "gin_trgm_ops" in definition
    assert "upper(text)" in definition


def test_a_rare_word_is_found_through_the_trigram_index() -> None:
    """Among thousands of answers, the plan for a rare word goes through the index
    rather than reading every answer of the period (which it would, were Django's
    ``icontains`` SQL not the index's expression)."""
    history = build_history()
    template = history["sessions"]["s3"]
    answer = Response.objects.get(session=template)
    common = ["too expensive", "we moved to another tool", "not using it enough", "buggy"]
    sessions, answers = [], []
    for n in range(3000):
        session = copy.copy(template)
        session.pk, session.token = uuid.uuid4(), f"bulk-{n}"
        session.subscription_id = f"sub_bulk_{n}"
        sessions.append(session)
        words = copy.copy(answer)
        words.pk, words.session = None, session
        words.text = "we need kerberos logins" if n == 1234 else common[n % len(common)]
        answers.append(words)
    CancelSession.objects.bulk_create(sessions)
    Response.objects.bulk_create(answers)
    with connection.cursor() as cursor:
        # What autovacuum does in a live database: move the new entries from the
        # index's pending list into the index, and gather statistics.
        cursor.execute("SELECT gin_clean_pending_list('response_words_trgm')")
        cursor.execute("ANALYZE surveys_response")
    filters = AnalyticsFilters(date_from=date(2026, 3, 1), date_to=date(2026, 3, 3))
    found = verbatims(workspace=history["workspace"], filters=filters, query="Kerberos")
    sql, params = found[:50].query.sql_with_params()
    plan = plan_of(sql, params)
    assert "response_words_trgm" in plan, plan
    assert [r.text for r in found[:50]] == ["we need kerberos logins"]


@pytest.mark.parametrize(
    ("query", "texts"),
    [
        ("PRICEY", ["too pricey for us"]),
        ("no api", ["=no API"]),
        ("busy", ["busy season"]),
        ("旺季太忙", ["旺季太忙了用不上"]),
        # Under three characters a word has no trigram: the index cannot narrow the
        # search (it scans, through the other indexes), but finds the same answers.
        ("%", []),
        ("太忙", ["旺季太忙了用不上"]),
        ("淡季", []),
    ],
)
def test_searches_find_the_same_answers_through_the_index(query: str, texts: list[str]) -> None:
    history = build_history()
    chinese = make_session(history["workspace"], locale="zh-hans", now=at("2026-03-02T05:00"))
    session_answer(
        token=chinese.token,
        reason_code="not_using",
        text="旺季太忙了用不上",
        now=at("2026-03-02T05:01"),
    )
    filters = AnalyticsFilters(date_from=date(2026, 3, 1), date_to=date(2026, 3, 3))
    found = verbatims(workspace=history["workspace"], filters=filters, query=query)
    assert [r.text for r in found] == texts

    if len(query) < 3:
        return
    with only_the_trigram_index():
        sql, params = found.query.sql_with_params()
        assert "response_words_trgm" in plan_of(sql, params)
        assert [r.text for r in found.all()] == texts


@contextmanager
def only_the_trigram_index() -> Iterator[None]:
    """Within a savepoint, rolled back after: the answers' other indexes dropped and
    sequential scans ruled out, so a search can only go through the trigram index."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'surveys_response' "
                "AND indexname <> 'response_words_trgm' "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
            )
            for (name,) in cursor.fetchall():
                cursor.execute(f'DROP INDEX "{name}"')
            cursor.execute("SET LOCAL enable_seqscan = off")
        yield
        transaction.set_rollback(True)
