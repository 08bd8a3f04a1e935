"""Searching the customers' words on PostgreSQL: the trigram indexes exist (one for
words of three characters or more, one for shorter words), the planner takes them
for a rare word among thousands of answers, and searches find the same answers
through them as without them (in English and Chinese, short words and wildcard
characters included)."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from analytics.selectors import AnalyticsFilters, verbatims
from surveys.models import CancelSession, Response
from surveys.search import SHORT_INDEX, short_index_exists
from surveys.services import session_answer
from tests.analytics.conftest import at, build_history
from tests.factories import make_session

pytestmark = pytest.mark.django_db


def plan_of(sql: str, params: tuple[object, ...]) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


TRIGRAM_INDEXES = ("response_words_trgm", SHORT_INDEX)


def test_the_trigram_indexes_are_there() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY(%s)",
            [list(TRIGRAM_INDEXES)],
        )
        definitions = dict(cursor.fetchall())
    assert "upper(text) gin_trgm_ops" in definitions["response_words_trgm"]
    assert "upper(regexp_replace(text" in definitions[SHORT_INDEX]
    assert "gin_trgm_ops" in definitions[SHORT_INDEX]


@pytest.mark.parametrize(
    ("query", "rare", "common", "index"),
    [
        (
            "Kerberos",
            "we need kerberos logins",
            ["too expensive", "we moved to another tool", "not using it enough", "buggy"],
            "response_words_trgm",
        ),
        # Two characters, no trigram of their own: the index of short words.
        (
            "日历",
            "缺少日历视图",
            ["太贵了", "换成了别的工具", "项目结束了", "同步总是失败"],
            SHORT_INDEX,
        ),
    ],
)
def test_a_rare_word_is_found_through_a_trigram_index(
    query: str, rare: str, common: list[str], index: str
) -> None:
    """Among thousands of answers, the plan for a rare word goes through its index
    rather than reading every answer of the period (which it would, were the
    search's SQL not the index's expression)."""
    history = build_history()
    bulk_answers(history, rare, common)
    filters = AnalyticsFilters(date_from=date(2026, 3, 1), date_to=date(2026, 3, 3))
    found = verbatims(workspace=history["workspace"], filters=filters, query=query)
    sql, params = found[:50].query.sql_with_params()
    plan = plan_of(sql, params)
    assert index in plan, plan
    assert [r.text for r in found[:50]] == [rare]


def test_a_common_short_word_is_read_newest_first_not_through_the_index() -> None:
    """A short word in one answer of four: its first page is among the newest
    answers, so they are walked, rather than every answer holding it fetched from
    the index and sorted."""
    history = build_history()
    common = ["太贵了", "换成了别的工具", "项目结束了", "同步总是失败"]
    bulk_answers(history, "缺少日历视图", common)
    filters = AnalyticsFilters(date_from=date(2026, 3, 1), date_to=date(2026, 3, 3))
    found = verbatims(workspace=history["workspace"], filters=filters, query="贵")
    sql, params = found[:50].query.sql_with_params()
    assert SHORT_INDEX not in sql
    assert SHORT_INDEX not in plan_of(sql, params)
    assert [r.text for r in found[:50]] == ["太贵了"] * 50


def test_the_probe_counts_the_word_among_the_newest_answers_only() -> None:
    """How often a short word turns up among the ``PROBE`` newest answers (what
    decides between walking and the index), counted case-insensitively."""
    from surveys.search import PROBE, found_among_newest

    history = build_history()
    bulk_answers(history, "缺少日历视图", ["太贵了", "换成了别的工具", "项目结束了", "Too PRICEY"])
    filters = AnalyticsFilters(date_from=date(2026, 3, 1), date_to=date(2026, 3, 3))
    answers = verbatims(workspace=history["workspace"], filters=filters)
    newest = [r.text.upper() for r in answers[:PROBE]]
    assert len(newest) == PROBE
    for word in ("贵", "pricey", "日历", "淡季"):
        expected = sum(word.upper() in text for text in newest)
        assert found_among_newest(answers, word) == expected, word
    assert found_among_newest(answers, "贵") > 200  # one answer in four


def bulk_answers(history: dict[str, Any], rare: str, common: list[str]) -> None:
    """3,000 answers in the history's period: ``rare`` once, ``common`` in turn."""
    template = history["sessions"]["s3"]
    answer = Response.objects.get(session=template)
    sessions, answers = [], []
    for n in range(3000):
        session = copy.copy(template)
        session.pk, session.token = uuid.uuid4(), f"bulk-{n}"
        session.subscription_id = f"sub_bulk_{n}"
        sessions.append(session)
        words = copy.copy(answer)
        words.pk, words.session = None, session
        words.text = rare if n == 1234 else common[n % len(common)]
        answers.append(words)
    CancelSession.objects.bulk_create(sessions)
    Response.objects.bulk_create(answers)
    with connection.cursor() as cursor:
        # What autovacuum does in a live database: move the new entries from the
        # indexes' pending lists into the indexes, and gather statistics.
        for name in TRIGRAM_INDEXES:
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [name])
        cursor.execute("ANALYZE surveys_response")


@pytest.mark.parametrize(
    ("query", "texts"),
    [
        ("PRICEY", ["too pricey for us"]),
        ("no api", ["=no API"]),
        ("busy", ["busy season"]),
        ("旺季太忙", ["旺季太忙了用不上"]),
        # Under three characters, through the index of short words.
        ("太忙", ["旺季太忙了用不上"]),
        ("忙", ["旺季太忙了用不上"]),
        ("淡季", []),
        ("Ap", ["=no API"]),
        ("i", ["=no API", "too pricey for us"]),
        ("r ", ["too pricey for us"]),
        (" 忙 ", ["旺季太忙了用不上"]),
        # No letter, so no trigram at all: no index narrows it (the same answers).
        ("%", []),
        ("_", []),
        ("=", ["=no API"]),
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

    if not any(character.isalnum() for character in query):
        return
    index = "response_words_trgm" if len(query.strip()) >= 3 else SHORT_INDEX
    with only_the_trigram_indexes():
        sql, params = found.query.sql_with_params()
        assert index in plan_of(sql, params)
        assert [r.text for r in found.all()] == texts


@contextmanager
def only_the_trigram_indexes() -> Iterator[None]:
    """Within a savepoint, rolled back after: the answers' other indexes dropped and
    sequential scans ruled out, so a search can only go through a trigram index."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'surveys_response' "
                "AND indexname <> ALL(%s) "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
                [list(TRIGRAM_INDEXES)],
            )
            for (name,) in cursor.fetchall():
                cursor.execute(f'DROP INDEX "{name}"')
            cursor.execute("SET LOCAL enable_seqscan = off")
        yield
        transaction.set_rollback(True)


def test_without_the_index_of_short_words_they_are_searched_as_typed() -> None:
    """A database without the index (pg_trgm added later, say) searches short
    words as it did before the index: the rewriting would only slow it down."""
    history = build_history()
    filters = AnalyticsFilters(date_from=date(2026, 3, 1), date_to=date(2026, 3, 3))
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"DROP INDEX {SHORT_INDEX}")
            short_index_exists.cache_clear()
            found = verbatims(workspace=history["workspace"], filters=filters, query="Ap")
            assert "REGEXP_REPLACE" not in str(found.query)
            assert [r.text for r in found] == ["=no API"]
            transaction.set_rollback(True)
    finally:
        short_index_exists.cache_clear()
    found = verbatims(workspace=history["workspace"], filters=filters, query="Ap")
    assert "REGEXP_REPLACE" in str(found.query)
    assert [r.text for r in found] == ["=no API"]


@pytest.mark.django_db(transaction=True)
def test_the_index_of_short_words_migrates_away_and_back() -> None:
    def short_index() -> bool:
        short_index_exists.cache_clear()
        return short_index_exists(connection.alias)

    assert short_index()
    try:
        call_command("migrate", "surveys", "0007", verbosity=0)
        assert not short_index()
    finally:
        # Every app: going back to surveys 0007 also undid the migrations that
        # depend on later ones (alerts, outbound, analytics).
        call_command("migrate", verbosity=0)
    assert short_index()
    short_index_exists.cache_clear()
