"""The accent colour of a workspace's brand: white text on it must reach WCAG AA
contrast (4.5:1), since it is the background of the customer's primary buttons."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

DEFAULT_ACCENT_COLOR = "#1f5fd1"
MIN_CONTRAST_WITH_WHITE = 4.5
_HEX = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(color: str) -> float:
    """WCAG 2 relative luminance of ``#rrggbb``."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_with_white(color: str) -> float:
    """The WCAG contrast ratio of white text on ``#rrggbb`` (1 to 21)."""
    return 1.05 / (relative_luminance(color) + 0.05)


def accent_color_normalize(value: Any) -> str:
    """``value`` as ``#rrggbb`` in lower case, or ValueError saying why it cannot be
    the accent colour (not a colour, or too light for white text)."""
    match = _HEX.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(_("Use a hex colour such as #1f5fd1."))
    digits = match.group(1).lower()
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    color = f"#{digits}"
    ratio = contrast_with_white(color)
    # Compared as shown (two decimals, rounded down), so the message never says a
    # refused colour reaches 4.50:1.
    if int(ratio * 100) / 100 < MIN_CONTRAST_WITH_WHITE:
        raise ValueError(
            _(
                "White text on %(color)s has a contrast ratio of %(ratio)s:1; WCAG AA "
                "needs at least %(minimum)s:1. Choose a darker colour."
            )
            % {"color": color, "ratio": f"{int(ratio * 100) / 100:.2f}", "minimum": "4.5"}
        )
    return color


def accent_color_validate(value: str) -> None:
    """Model validator (the admin): empty for the default, else a dark enough colour."""
    if not value:
        return
    try:
        normalised = accent_color_normalize(value)
    except ValueError as error:
        raise ValidationError(str(error)) from None
    if normalised != value:
        raise ValidationError(_("Write the colour as #rrggbb in lower case."))
