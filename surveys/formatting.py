"""Dates and prices as a customer reads them, in their language (Babel, CLDR data).

The customer's pages, the offer terms and the confirmation emails all format
through here, so "2027年1月2日" / "2. Januar 2027" / "January 2, 2027" and
"¥49.00" / "49,00 €" / "$49.00" come from one place. Team dashboards format
their own figures (analytics).

A formatted date never breaks across lines: its spaces are no-break spaces and,
in Chinese, a word joiner (U+2060, invisible) sits between its characters, so a
date inside a sentence stays whole on a narrow phone, in HTML, email or the
widget alike.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from babel.numbers import format_currency
from django.utils import timezone, translation

NO_BREAK_SPACE = "\u00a0"
WORD_JOINER = "\u2060"
DEFAULT_CURRENCY = "USD"
_LETTERS_THEN_DIGIT = re.compile(r"([A-Za-z])(\d)")
_DIGIT_THEN_LETTERS = re.compile(r"(\d)([A-Za-z])")


@lru_cache(maxsize=32)
def babel_locale(language: str | None) -> Locale:
    """Django's language code ("zh-hans", "de", "en-gb") as a Babel locale."""
    tag = (language or "en").strip().lower().replace("_", "-")
    if tag.startswith("zh"):
        return Locale("zh", script="Hans")
    try:
        return Locale.parse(tag, sep="-")
    except (UnknownLocaleError, ValueError):
        return Locale("en")


def _active(language: str | None) -> Locale:
    return babel_locale(language or translation.get_language())


def unbreakable(text: str) -> str:
    """``text`` that a browser will not wrap: no-break spaces, and word joiners
    between characters that may otherwise break (CJK, digits next to them)."""
    text = text.replace(" ", NO_BREAK_SPACE).replace("\u202f", NO_BREAK_SPACE)
    if not any(ord(ch) > 0x2E7F for ch in text):
        return text
    return WORD_JOINER.join(text)


def _as_date(value: date | datetime | str) -> date:
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.date()
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()


def customer_date(value: date | datetime | str | None, *, language: str | None = None) -> str:
    """A day in the customer's language, long form: "January 2, 2027",
    "2027年1月2日", "2. Januar 2027" (empty for no date; an unreadable one as given)."""
    if value in (None, ""):
        return ""
    try:
        day = _as_date(value)
    except ValueError:
        return str(value)
    return unbreakable(format_date(day, format="long", locale=_active(language)))


def customer_datetime(value: datetime | None, *, language: str | None = None) -> str:
    """A moment in the customer's language: the long date, the time and the zone
    ("January 2, 2027 14:03 UTC")."""
    if value is None:
        return ""
    moment = timezone.localtime(value) if timezone.is_aware(value) else value
    locale = _active(language)
    zone = moment.tzname() or ""
    parts = [
        format_date(moment.date(), format="long", locale=locale),
        format_time(moment, format="short", locale=locale),
    ]
    return unbreakable(" ".join(parts + ([zone] if zone else [])))


def customer_price(cents: int | None, currency: str | None, *, language: str | None = None) -> str:
    """An amount kept in hundredths, as a price in the customer's language with
    the currency's own digits: "$49.00", "49,00 €", "¥49.00", "JP¥49"."""
    code = (currency or DEFAULT_CURRENCY).strip().upper() or DEFAULT_CURRENCY
    amount = Decimal(int(cents or 0)) / 100
    text = format_currency(amount, code, locale=_active(language))
    # CLDR's currency spacing, which Babel leaves out: a symbol made of letters
    # ("CHF") is kept apart from the digits by a no-break space.
    text = _LETTERS_THEN_DIGIT.sub("\\1" + NO_BREAK_SPACE + "\\2", text)
    return _DIGIT_THEN_LETTERS.sub("\\1" + NO_BREAK_SPACE + "\\2", text)
