"""The outcomes, rates and changes the figures share."""

from __future__ import annotations

OUTCOMES = ("saved", "cancelled", "abandoned")


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _change(now: int | float | None, before: int | float | None) -> float | None:
    """Relative change against the previous period (0.25 = +25%); None without a base."""
    if now is None or before in (None, 0):
        return None
    return round((now - before) / before, 4)


def _points(now: float | None, before: float | None) -> float | None:
    """A rate's change against the previous period, in percentage points as a
    fraction (0.05 = +5 pp); None without both."""
    if now is None or before is None:
        return None
    return round(now - before, 4)
