from __future__ import annotations

from django import template

from config.figures import points as points_text

register = template.Library()


@register.filter
def percent(value: float | None, digits: int = 1) -> str:
    """``0.2875|percent`` -> "28.8%"; "—" for no value."""
    if value is None:
        return "—"
    return f"{value * 100:.{int(digits)}f}%"


@register.filter
def points(value: float | None) -> str:
    """A difference of proportions in percentage points: "+4.2 pp", in the
    reader's language (``config.figures``)."""
    return points_text(value)


@register.filter
def p_value(value: float | None) -> str:
    """ "0.1025"; "< 0.0001" rather than a misleading 0."""
    if value is None:
        return "—"
    return "< 0.0001" if value < 0.0001 else f"{value:.4f}"


@register.filter
def p_phrase(value: float | None) -> str:
    """ "p = 0.1025", or "p < 0.0001" rather than "p = < 0.0001"."""
    if value is None:
        return "—"
    return "p < 0.0001" if value < 0.0001 else f"p = {value:.4f}"
