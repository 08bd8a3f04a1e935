"""Dates and prices in the customer's language (Babel), and which language a
customer gets (the session's, else the browser's by q-value, else the workspace's)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.template import Context, Template
from django.utils import translation

from surveys.formatting import (
    NO_BREAK_SPACE,
    WORD_JOINER,
    customer_date,
    customer_datetime,
    customer_price,
)
from surveys.locales import locale_from_accept_language, normalize_locale
from tests.readable import plain


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "January 2, 2027"), ("zh-hans", "2027年1月2日"), ("de", "2. Januar 2027")],
)
def test_dates_read_in_each_language(language: str, expected: str) -> None:
    assert plain(customer_date(date(2027, 1, 2), language=language)) == expected
    # From a moment or the ISO text the offers store, the same day.
    assert plain(customer_date("2027-01-02", language=language)) == expected
    assert plain(customer_date(datetime(2027, 1, 2, 9, tzinfo=UTC), language=language)) == expected


@pytest.mark.parametrize(
    ("language", "currency", "cents", "expected"),
    [
        ("en", "USD", 4900, "$49.00"),
        ("en", "EUR", 123456, "€1,234.56"),
        ("en", "JPY", 490000, "¥4,900"),
        ("zh-hans", "CNY", 4900, "¥49.00"),
        ("zh-hans", "USD", 4900, "US$49.00"),
        ("zh-hans", "JPY", 490000, "JP¥4,900"),
        ("de", "EUR", 4900, "49,00 €"),
        ("de", "EUR", 123456, "1.234,56 €"),
        ("de", "USD", 4900, "49,00 $"),
        ("de", "JPY", 490000, "4.900 ¥"),
        ("en", "CHF", 990, "CHF 9.90"),
    ],
)
def test_prices_read_in_each_language(
    language: str, currency: str, cents: int, expected: str
) -> None:
    assert plain(customer_price(cents, currency, language=language)) == expected


def test_a_missing_currency_is_dollars_and_a_lowercase_one_is_understood() -> None:
    assert customer_price(4900, "", language="en") == "$49.00"
    assert customer_price(4900, "eur", language="en") == "€49.00"


def test_the_active_language_is_the_default() -> None:
    with translation.override("de"):
        assert plain(customer_date(date(2027, 1, 2))) == "2. Januar 2027"
        assert plain(customer_price(4900, "EUR")) == "49,00 €"
    with translation.override("zh-hans"):
        assert plain(customer_date(date(2027, 1, 2))) == "2027年1月2日"


def test_a_date_never_breaks_across_lines() -> None:
    english = customer_date(date(2026, 12, 2), language="en")
    assert " " not in english and NO_BREAK_SPACE in english
    chinese = customer_date(date(2026, 12, 2), language="zh-hans")
    # Every character is joined to the next, so no line break can fall inside.
    assert chinese == WORD_JOINER.join("2026年12月2日")
    assert " " not in customer_date(date(2026, 12, 2), language="de")
    moment = customer_datetime(datetime(2026, 12, 2, 14, 3, tzinfo=UTC), language="de")
    assert " " not in moment and plain(moment) == "2. Dezember 2026 14:03 UTC"


def test_no_date_is_empty_and_a_bad_one_is_shown_as_given() -> None:
    assert customer_date(None) == ""
    assert customer_date("") == ""
    assert customer_date("not a date") == "not a date"
    assert customer_datetime(None) == ""


def test_template_filters() -> None:
    template = Template(
        "{% load customer_format %}{{ day|customer_date }} · {{ cents|customer_price:'EUR' }}"
    )
    with translation.override("de"):
        rendered = template.render(Context({"day": date(2027, 1, 2), "cents": 4900}))
    assert plain(rendered) == "2. Januar 2027 · 49,00 €"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("de-DE,de;q=0.9,en;q=0.8", "de"),
        ("fr-CH, de;q=0.8, en;q=0.5", "de"),  # French is not ours: the next by q
        ("en;q=0.5, zh-CN;q=0.9", "zh-hans"),  # q decides, not the order
        ("zh-TW", "zh-hans"),
        ("en-GB", "en"),
        ("de-AT", "de"),
        ("fr, es", None),
        ("*", None),
        ("", None),
        ("garbage;;;q=x", None),
    ],
)
def test_the_browser_language_by_q_value(header: str, expected: str | None) -> None:
    assert locale_from_accept_language(header) == expected


def test_normalize_locale_knows_german() -> None:
    assert normalize_locale("de") == "de"
    assert normalize_locale("de_CH") == "de"
    assert normalize_locale("zh_Hans") == "zh-hans"
    assert normalize_locale("fr") is None
