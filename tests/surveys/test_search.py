"""Which way a short word is searched: walking the answers newest first, or through
the index of short words, from how often it turns up among the newest answers."""

from __future__ import annotations

import pytest

from surveys.search import PAGE_NEEDS, PROBE, has_letters, index_is_cheaper


@pytest.mark.parametrize(
    ("found", "indexed", "cheaper"),
    [
        (0, 3_000_000, True),  # found nowhere among the newest: look it up
        (0, 0, True),  # a table never analysed: small, look it up
        (3, 3_000_000, True),  # ~1 in 570: ~5,000 in the table, ~29,000 to walk
        (15, 3_000_000, False),  # ~1 in 130: ~23,000 in the table, ~6,600 to walk
        (15, 100_000, True),  # as common, in a table of 100,000: ~775 in it
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
