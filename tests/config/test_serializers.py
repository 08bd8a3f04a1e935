"""FlatInput: the flow's bodies validated as DRF validates them, with shallow
copies of plain fields, and nothing else admitted."""

from __future__ import annotations

import pytest
from rest_framework import serializers

from config.serializers import FlatInput
from surveys.api.flow import AcceptIn, AnswerIn


def test_flat_input_validates_as_drf_does_and_instances_do_not_share_fields() -> None:
    class Plain(serializers.Serializer):
        offer = serializers.IntegerField(min_value=1, max_value=10)
        note = serializers.CharField(max_length=3, required=False, default="")

    class Flat(FlatInput):
        offer = serializers.IntegerField(min_value=1, max_value=10)
        note = serializers.CharField(max_length=3, required=False, default="")

    for body in ({"offer": 3}, {"offer": 0}, {"offer": "x", "note": "long"}, {}, {"offer": 11}):
        plain, flat = Plain(data=body), Flat(data=body)
        assert plain.is_valid() == flat.is_valid()
        assert plain.errors == flat.errors
        assert dict(plain.validated_data) == dict(flat.validated_data)
    one, two = Flat(data={"offer": 1}), Flat(data={"offer": 2})
    assert one.fields["offer"] is not two.fields["offer"]
    assert one.fields["offer"].parent is one and two.fields["offer"].parent is two


def test_flat_input_refuses_nested_fields() -> None:
    with pytest.raises(TypeError, match="plain fields only"):

        class Nested(FlatInput):
            tags = serializers.ListField(child=serializers.CharField())

    with pytest.raises(TypeError, match="plain fields only"):

        class Inner(FlatInput):
            child = AnswerIn()


def test_the_flow_bodies_are_flat() -> None:
    assert issubclass(AnswerIn, FlatInput) and issubclass(AcceptIn, FlatInput)
    assert AcceptIn(data={"offer": 0}).is_valid() is False
