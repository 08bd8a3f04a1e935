"""Input serializers for the flow's hot path.

DRF gives every serializer instance a deep copy of its declared fields, and a
deep copy of a field is a new field built again from its arguments, validators
and all: for a body of two fields, most of the time spent validating it.
``FlatInput`` takes shallow copies instead: ``bind`` sets each copy's own name
and parent, and the validators, made once when the field was declared, are
shared and never changed. Only for serializers whose fields are all plain
fields (no nested serializer, no field with a child): ``__init_subclass__``
refuses any other.
"""

from __future__ import annotations

import copy
from typing import Any

from rest_framework import serializers


class FlatInput(serializers.Serializer):
    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        nested = [
            name
            for name, field in cls._declared_fields.items()
            if isinstance(field, serializers.BaseSerializer) or hasattr(field, "child")
        ]
        if nested:
            raise TypeError(f"{cls.__name__}: FlatInput takes plain fields only, not {nested}")

    def get_fields(self) -> dict[str, Any]:
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}
