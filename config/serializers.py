"""Input serializers for the hot path: the flow's bodies and opening a session.

DRF gives every serializer instance a deep copy of its declared fields, and a
deep copy of a field is a new field built again from its arguments, validators
and all: for a body of two fields, most of the time spent validating it; for
the body that opens a session (two nested objects, eleven fields) 180 µs.
``FlatInput`` takes shallow copies instead: ``bind`` sets each copy's own name
and parent, and the validators, made once when the field was declared, are
shared and never changed. It admits what such a copy keeps apart:

- plain fields;
- a nested ``FlatInput`` (one object, not ``many``): its copy makes its own
  field copies in turn;
- a ``DictField`` or ``ListField`` of a plain field: the child is shared, and
  validating a value changes nothing on it.

``__init_subclass__`` refuses anything else (a nested plain serializer, a list
of serializers, a child that is a serializer).
"""

from __future__ import annotations

import copy
from typing import Any

from rest_framework import serializers


def _admitted(field: Any) -> bool:
    if isinstance(field, FlatInput):
        return True
    if isinstance(field, serializers.BaseSerializer):  # a plain or a many serializer
        return False
    child = getattr(field, "child", None)
    if child is None:
        return True
    return isinstance(field, serializers.DictField | serializers.ListField) and not (
        isinstance(child, serializers.BaseSerializer) or hasattr(child, "child")
    )


class FlatInput(serializers.Serializer):
    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        refused = [name for name, field in cls._declared_fields.items() if not _admitted(field)]
        if refused:
            raise TypeError(
                f"{cls.__name__}: FlatInput takes plain fields, nested FlatInput and "
                f"dicts or lists of plain fields only, not {refused}"
            )

    def get_fields(self) -> dict[str, Any]:
        fields = {}
        for name, field in self._declared_fields.items():
            fresh = copy.copy(field)
            if isinstance(field, FlatInput):
                fresh.__dict__.pop("fields", None)  # its own copies, made when first used
            fields[name] = fresh
        return fields
