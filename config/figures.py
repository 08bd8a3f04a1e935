"""How a difference of two rates reads, wherever the team reads one (the
dashboard, an experiment's page): in percentage points, signed with a true minus,
the unit in the reader's language ("+5.0 pp", "+5.0 个百分点", "+5.0 Pp.")."""

from __future__ import annotations

from django.utils.translation import pgettext

MINUS = "\u2212"  # the typographic minus sign, as wide as the plus


def signed(value: float, text: str) -> str:
    """``text`` (a magnitude) with the sign of ``value``: plus, minus (U+2212), or "±" for 0."""
    sign = "+" if value > 0 else (MINUS if value < 0 else "±")
    return sign + text


def points(delta: float | None) -> str:
    """A difference of two rates in percentage points: 0.05 -> "+5.0 pp"; no
    difference to show -> "—"."""
    if delta is None:
        return "—"
    magnitude = f"{abs(delta) * 100:.1f}"
    unit = pgettext("percentage points, after a difference of two rates", "%(number)s pp")
    return signed(delta, unit % {"number": magnitude})
