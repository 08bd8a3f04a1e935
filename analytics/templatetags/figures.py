"""How the dashboard writes its figures: rates, changes, durations."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

from config.figures import points as points_text
from config.figures import signed as _signed

register = template.Library()


@register.filter
def pct(rate: float | None, digits: int = 1) -> str:
    """0.1234 -> "12.3%"; no rate (nothing to divide by) -> "—"."""
    if rate is None:
        return "—"
    return f"{rate * 100:.{digits}f}%"


@register.filter
def change(rate: float | None) -> str:
    """A relative change: 0.25 -> "+25%", -0.1 -> "-10%" (with a minus sign), None -> "—"."""
    return "—" if rate is None else _signed(rate, f"{abs(rate) * 100:.0f}%")


@register.filter
def points(delta: float | None) -> str:
    """A change of share in percentage points: 0.05 -> "+5.0 pp" (``config.figures``)."""
    return points_text(delta)


@register.filter
def trend_class(rate: float | None) -> str:
    if rate is None or rate == 0:
        return "flat"
    return "up" if rate > 0 else "down"


@register.filter
def duration(seconds: float | None) -> str:
    """Seconds -> "45 s", "3 min 20 s", "2 h 5 min"."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    if whole < 60:
        return _("%(s)d s") % {"s": whole}
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return _("%(m)d min %(s)d s") % {"m": minutes, "s": secs}
    hours, minutes = divmod(minutes, 60)
    return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
