"""Form fields shared by the admin and the web UI."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.forms.fields import InvalidJSONInput

from config.parsers import MAX_DEPTH, json_problem


class SafeJSONFormField(forms.JSONField):
    """Django's JSON form field, refusing what the API's parser refuses: NUL
    characters and lone surrogates (written as ``\\u0000``, ``\\ud800`` escapes,
    which PostgreSQL's jsonb cannot store) and nesting deeper than MAX_DEPTH."""

    def to_python(self, value: Any) -> Any:
        try:
            converted = super().to_python(value)
        except RecursionError:
            raise ValidationError(
                "Nested deeper than %(limit)d levels.", params={"limit": MAX_DEPTH}
            ) from None
        problem = json_problem(converted)
        if problem is not None:
            path, message = problem
            raise ValidationError(message if path == "non_field_errors" else f"{path}: {message}")
        return converted

    def bound_data(self, data: Any, initial: Any) -> Any:
        # Shown again as typed: decoded, a lone surrogate could not even be written out.
        if self.disabled or data is None:
            return super().bound_data(data, initial)
        try:
            decoded = super().bound_data(data, initial)
        except RecursionError:
            return InvalidJSONInput(data)
        if isinstance(decoded, InvalidJSONInput) or json_problem(decoded) is not None:
            return InvalidJSONInput(data)
        return decoded


# For a ModelAdmin's or an inline's ``formfield_overrides``.
JSON_FORMFIELD_OVERRIDES: dict[Any, dict[str, Any]] = {
    models.JSONField: {"form_class": SafeJSONFormField},
}
