"""``{{ cents|money_in:currency }}`` and ``{{ amounts|money_split:home }}``: the
dashboard's money, in the reader's language (analytics.money)."""

from __future__ import annotations

from collections.abc import Mapping

from django import template

from analytics.money import dashboard_money, dashboard_money_split

register = template.Library()


@register.filter
def money_in(cents: int | None, currency: str) -> str:
    return dashboard_money(cents, currency)


@register.filter
def money_split(amounts: Mapping[str, int] | None, home: str = "") -> str:
    return dashboard_money_split(amounts, home=home)
