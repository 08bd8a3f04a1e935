"""Which way a short word is searched: walking the answers newest first, or through
the index of short words, from how often it turns up among the newest answers."""

from __future__ import annotations

import pytest

from surveys.search import PAGE_NEEDS, PROBE, has_letters, index_is_cheaper

assert PROBE == 1000  # the cases below are worked out for it


@pytest.mark.parametrize(
    ("found", "indexed", "cheaper"),
    [
        (0, 3_000_000, True),  # found nowhere among the newest: look it up
        (0, 0, True),  # a table never analysed: small, look it up
        (1, 1_000_000, True),  # ~1 in 670: ~1,500 to fetch (x8), ~34,000 to walk
        (1, 3_000_000, False),  # as rare, in 3M: ~4,500 to fetch (x8)
        (15, 3_000_000, False),  # ~1 in 65: ~46,000 to fetch, ~3,300 to walk
        (15, 10_000, True),  # as common, in a table of 10,000: ~155 to fetch
        (PAGE_NEEDS, 10**12, False),  # the first page is among the newest: walk
        (PAGE_NEEDS - 1, 10**12, False),
        (PROBE, 0, False),
    ],
)
def test_the_cheaper_way_is_taken(found: int, indexed: float, cheaper: bool) -> None:
    assert index_is_cheaper(found, indexed) is cheaper


@pytest.mark.parametrize(
    ("word", "letters"),
    [("日历", True), ("a", True), ("7", True), ("%", False), ("_ ", False), ("", False)],
)
def test_only_words_with_letters_or_digits_have_trigrams(word: str, letters: bool) -> None:
    assert has_letters(word) is letters
