from django import template

from offers.presentation import format_money

register = template.Library()


@register.filter
def money(cents: int, currency: str = "USD") -> str:
    """``{{ session.mrr_cents|money:session.currency }}`` -> "$49"."""
    return format_money(int(cents or 0), currency or "USD")
