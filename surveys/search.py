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
the index is there and the word has a letter or digit.
"""

from __future__ import annotations

from functools import cache

from django.db import connections
from django.db.models import F, Func, QuerySet, TextField

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
    """The answers whose text holds ``query`` (trimmed, case-insensitive)."""
    word = query.strip()[:QUERY_LIMIT]
    if not word:
        return answers
    if len(word) < TRIGRAM and has_letters(word) and short_index_exists(answers.db):
        tripled = "".join(character * 3 for character in word)
        return answers.alias(tripled_text=Tripled(F("text"))).filter(
            tripled_text__icontains=tripled
        )
    return answers.filter(text__icontains=word)


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
