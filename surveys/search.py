"""Searching the customers' words: ``words_matching`` narrows answers to those
whose text holds a word, case-insensitively, the way PostgreSQL's indexes of the
words (migrations ``0006`` and ``0008``, both pg_trgm) can answer.

A search is ``UPPER(text) LIKE UPPER('%word%')`` (Django's ``icontains``), which
the trigram index ``response_words_trgm`` answers for words of three characters
or more. A shorter word, which is most Chinese words (日历, 客服, 贵), has no
trigram, so that index cannot narrow it, and a word found in few answers would be
looked for through every answer of the period. For those, each character of the
text and of the word is written three times (日历 becomes 日日日历历历), which
keeps a word's matches the same and gives it trigrams, and the index
``response_words_short`` holds the text written so.

That rewriting would only slow a search down where the index cannot help (SQLite,
PostgreSQL without pg_trgm, or a search for punctuation), so it is used only where
the index is there and the word has a letter or digit. Nor is it used for a common
word: the index gives every answer holding it, of every period, to be sorted by
date, while walking the answers newest first finds a page of a common word within
a few hundred. Which one a short word gets is decided by how often it turns up
among the newest answers (``index_is_cheaper``).
"""

from __future__ import annotations

from functools import cache

from django.db import connections
from django.db.models import F, Func, QuerySet, TextField, Value
from django.db.models.functions import StrIndex, Upper

from surveys.models import Response

# The longest word searched for (characters); the rest of what was typed is left off.
QUERY_LIMIT = 200
# Words shorter than this have no trigram of their own.
TRIGRAM = 3
SHORT_INDEX = "response_words_short"


class Tripled(Func):
    """Each character of a text written three times; the SQL is the expression of
    the ``response_words_short`` index, literally (a bound parameter would not
    match the index's expression)."""

    template = r"REGEXP_REPLACE(%(expressions)s, '(.)', '\1\1\1', 'g')"
    output_field = TextField()


def words_matching(answers: QuerySet[Response], query: str) -> QuerySet[Response]:
    """The answers whose text holds ``query`` (trimmed, case-insensitive);
    ``answers`` come newest first, as the customers' words are read."""
    word = query.strip()[:QUERY_LIMIT]
    if not word:
        return answers
    if len(word) >= TRIGRAM or not has_letters(word) or not short_index_exists(answers.db):
        return answers.filter(text__icontains=word)
    tripled = "".join(character * 3 for character in word)
    through_index = answers.alias(tripled_text=Tripled(F("text"))).filter(
        tripled_text__icontains=tripled
    )
    found = found_among_newest(answers, word)
    if index_is_cheaper(found, indexed_answers(answers.db)):
        return through_index
    return holding(answers, word)


def found_among_newest(answers: QuerySet[Response], word: str) -> int:
    """How many of the ``PROBE`` newest ``answers`` hold ``word`` (PostgreSQL).
    Counted as they are read, newest first, with their text: not found first and
    then each looked up again by id (a thousand lookups, 3-4 ms at 10M sessions,
    against 1 ms)."""
    newest, params = answers.values("text")[:PROBE].query.sql_with_params()
    with connections[answers.db].cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM ({newest}) AS newest "
            "WHERE STRPOS(UPPER(newest.text), UPPER(%s)) > 0",
            [*params, word],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def holding(answers: QuerySet[Response], word: str) -> QuerySet[Response]:
    """The answers holding ``word``, looked for in each answer read, never through
    an index: a short word's ``LIKE`` would go to the trigram index of long words,
    which cannot narrow it and so reads every answer with words (seconds)."""
    return answers.alias(word_at=StrIndex(Upper("text"), Upper(Value(word)))).filter(word_at__gt=0)


# How many of the newest answers a short word is first looked for in, and how many
# answers a page of them needs (a page, and one to tell whether another follows).
PROBE = 1000
PAGE_NEEDS = 51
# What an answer fetched through the index costs against one walked past: about
# 10 µs against 1-1.5 µs at 10M sessions (bench/analytics.py, q=日历).
INDEX_ROW_COST = 8


def index_is_cheaper(found: int, indexed: float) -> bool:
    """Whether a short word found ``found`` times in the ``PROBE`` newest answers is
    read more cheaply through the index of short words than by walking the answers
    newest first. Walking reads about ``PAGE_NEEDS / frequency`` answers, in order
    and cheaply; the index fetches every answer of the table (all periods and
    workspaces: ``indexed`` of them) that holds the word, one by one, rewritten to
    be checked, and sorts them: ``INDEX_ROW_COST`` times as much each. So a
    common word is walked, a rare one looked up; a word found nowhere among the
    newest is looked up."""
    if found >= PAGE_NEEDS:
        return False  # the first page is among the answers just probed
    frequency = (found + 0.5) / PROBE
    return INDEX_ROW_COST * frequency * indexed < PAGE_NEEDS / frequency


def indexed_answers(alias: str) -> float:
    """About how many answers with words the table holds (the planner's estimate of
    the index's entries; 0 before the table was ever analysed)."""
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [SHORT_INDEX])
        row = cursor.fetchone()
    return max(float(row[0]), 0.0) if row else 0.0


def has_letters(word: str) -> bool:
    """Whether pg_trgm finds anything in ``word`` (it keeps letters and digits only;
    a search for punctuation is not narrowed by any index)."""
    return any(character.isalnum() for character in word)


@cache
def short_index_exists(alias: str) -> bool:
    """Whether the database has the index of short words (asked once per process:
    it comes with a migration, and a migrated process restarts)."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [SHORT_INDEX])
        return cursor.fetchone() is not None
