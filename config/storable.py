"""What PostgreSQL cannot store: NUL anywhere, and lone UTF-16 surrogates (which JSON
may carry as ``\\udXXX`` escapes). A request carrying them is a 400, not a 500."""

from __future__ import annotations

import re
from typing import Any

UNSTORABLE_TEXT = re.compile(r"[\x00\ud800-\udfff]")


def has_unstorable_text(value: Any) -> bool:
    """True if a string anywhere in ``value`` (keys of objects too) cannot be stored."""
    if isinstance(value, str):
        return bool(UNSTORABLE_TEXT.search(value))
    if isinstance(value, dict):
        return any(
            has_unstorable_text(key) or has_unstorable_text(item) for key, item in value.items()
        )
    if isinstance(value, list | tuple):
        return any(has_unstorable_text(item) for item in value)
    return False
