"""The API's JSON parser: DRF's, refusing what no field should ever hold.

A NUL character (U+0000) cannot be stored in a PostgreSQL text or jsonb value
(the insert fails with DataError), and a lone UTF-16 surrogate (``"\\ud800"``,
valid JSON escape, not a character) cannot even be encoded as UTF-8. Neither is
meaningful input, in any string or key, at any depth, so they are refused here,
once, for every endpoint, before a serializer or the database sees them. JSON
nested deeper than ``MAX_DEPTH`` is refused too: no body of this API needs more
than a few levels, and deep nesting costs recursion in every later walk.

The error is the usual ``validation_error`` (400) with ``fields`` naming the
path of the offending value, e.g. ``{"metadata.note": "…"}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32

# NUL, and any UTF-16 surrogate code point (only a lone one can reach a str).
_FORBIDDEN = re.compile("[\x00\ud800-\udfff]")


def _path(parts: list[str]) -> str:
    return ".".join(parts) or "non_field_errors"


def forbidden_text_problem(value: str) -> str | None:
    """Why a string cannot be accepted, or None when it can."""
    found = _FORBIDDEN.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return _("Must not contain NUL (\\u0000) characters.")
    return _("Must not contain unpaired surrogate (\\ud800-\\udfff) escapes.")


def json_problem(data: Any, *, max_depth: int = MAX_DEPTH) -> tuple[str, str] | None:
    """The first value in parsed JSON that must be refused: ``(path, message)``."""
    # Iterative walk: a hostile document must not cost us recursion either.
    stack: list[tuple[Any, list[str], int]] = [(data, [], 1)]
    while stack:
        value, parts, depth = stack.pop()
        if isinstance(value, str):
            problem = forbidden_text_problem(value)
            if problem:
                return _path(parts), problem
            continue
        if not isinstance(value, Mapping | list):
            continue
        if depth > max_depth:
            return _path(parts), _("Nested deeper than %(limit)d levels.") % {"limit": max_depth}
        if isinstance(value, Mapping):
            for key in value:
                problem = forbidden_text_problem(key)
                if problem:
                    return _path(parts), _("A key here: %(problem)s") % {"problem": problem}
            children = [(child, [*parts, str(key)]) for key, child in value.items()]
        else:
            children = [(child, [*parts, str(index)]) for index, child in enumerate(value)]
        # Reversed so that the first problem in document order is the one reported.
        stack.extend((child, path, depth + 1) for child, path in reversed(children))
    return None


class SafeJSONParser(JSONParser):
    """``rest_framework.parsers.JSONParser`` plus the refusals above."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            # Thousands of levels: the standard library gives up before we can walk it.
            raise ValidationError(
                {
                    "non_field_errors": [
                        _("Nested deeper than %(limit)d levels.") % {"limit": MAX_DEPTH}
                    ]
                }
            ) from None
        problem = json_problem(data)
        if problem is not None:
            path, message = problem
            raise ValidationError({path: [message]})
        return data
