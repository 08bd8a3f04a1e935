"""Money on the dashboard, written by Babel for the reader's language and the
amount's currency: "$1,234.50", "1.234,50 €", "JP¥1,234" (yen have no minor
unit, so none is shown). Amounts are kept in hundredths of the currency's unit
everywhere in this service (``mrr_cents``), yen included.

Amounts in different currencies are never added up: a figure that holds
several is a mapping currency -> hundredths, written one currency after the
other ("$1,200.00 · €300.00"), the workspace's own currency first.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from babel.core import Locale, UnknownLocaleError
from babel.numbers import format_currency
from django.utils.translation import get_language, to_locale

SEPARATOR = " · "


def _babel_locale(language: str | None) -> Locale:
    try:
        return Locale.parse(to_locale(language or "en"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def dashboard_money(cents: int | None, currency: str, language: str | None = None) -> str:
    """``cents`` hundredths of ``currency`` for a reader of ``language`` (default:
    the active one); "—" for no amount."""
    if cents is None:
        return "—"
    code = (currency or "USD").upper()
    return format_currency(
        Decimal(int(cents)) / 100, code, locale=_babel_locale(language or get_language())
    )


def dashboard_money_split(
    amounts: Mapping[str, int] | None, *, home: str = "", language: str | None = None
) -> str:
    """Several currencies' amounts, one after the other (never added): ``home``
    first, then the others alphabetically; currencies with nothing are left out
    unless nothing at all is there (then ``home``'s zero)."""
    amounts = {code.upper(): int(cents) for code, cents in (amounts or {}).items()}
    home = home.upper()
    shown = [code for code in sorted(amounts) if amounts[code]]
    shown.sort(key=lambda code: code != home)
    if not shown:
        return dashboard_money(0, home or next(iter(amounts), "USD"), language)
    return SEPARATOR.join(dashboard_money(amounts[code], code, language) for code in shown)
