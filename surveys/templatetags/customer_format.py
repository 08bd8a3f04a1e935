"""Template filters for the customer's pages and emails, in the active language:
``{{ session.current_period_end|customer_date }}``,
``{{ session.completed_at|customer_datetime }}``,
``{{ session.mrr_cents|customer_price:session.currency }}``."""

from __future__ import annotations

from datetime import date, datetime

from django import template

from surveys import formatting

register = template.Library()


@register.filter
def customer_date(value: date | datetime | str | None) -> str:
    return formatting.customer_date(value)


@register.filter
def customer_datetime(value: datetime | None) -> str:
    return formatting.customer_datetime(value)


@register.filter
def customer_price(cents: int | None, currency: str | None = None) -> str:
    return formatting.customer_price(cents, currency)
