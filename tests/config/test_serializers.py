"""FlatInput: the flow's and the session's bodies validated as DRF validates
them, with shallow copies of plain fields (nested FlatInput and dicts or lists
of plain fields too), and nothing else admitted."""

from __future__ import annotations

import pytest
from rest_framework import serializers

from config.serializers import FlatInput
from surveys.api.flow import AcceptIn, AnswerIn
from surveys.api.sessions import SessionIn


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


class PlainCustomer(serializers.Serializer):
    id = serializers.CharField(max_length=5)
    email = serializers.EmailField(required=False, default="")


class PlainBody(serializers.Serializer):
    customer = PlainCustomer()
    tags = serializers.ListField(child=serializers.CharField(max_length=3), required=False)
    metadata = serializers.DictField(child=serializers.IntegerField(), required=False)


class FlatCustomer(FlatInput):
    id = serializers.CharField(max_length=5)
    email = serializers.EmailField(required=False, default="")


class FlatBody(FlatInput):
    customer = FlatCustomer()
    tags = serializers.ListField(child=serializers.CharField(max_length=3), required=False)
    metadata = serializers.DictField(child=serializers.IntegerField(), required=False)


def test_nested_flat_input_validates_as_drf_does_and_shares_no_bound_field() -> None:
    bodies = [
        {"customer": {"id": "c1"}},
        {"customer": {"id": "toolong", "email": "not an email"}, "tags": ["abcd", 3]},
        {"customer": "c1"},
        {"customer": {"id": "c1"}, "metadata": {"a": "x", "b": 2}},
        {"customer": {"id": "c1", "email": "a@b.org"}, "tags": ["ok"], "metadata": {"n": 1}},
        {},
    ]
    for body in bodies:
        plain, flat = PlainBody(data=body), FlatBody(data=body)
        assert plain.is_valid() == flat.is_valid(), body
        assert plain.errors == flat.errors
        assert plain.validated_data == flat.validated_data
    # A nested field whose own declared instance has built its fields (a schema
    # generator reading it, say) still gives each body its own copies.
    assert FlatBody._declared_fields["customer"].fields["id"]
    one, two = FlatBody(data=bodies[0]), FlatBody(data=bodies[1])
    assert one.is_valid() and not two.is_valid()
    inner_one, inner_two = one.fields["customer"], two.fields["customer"]
    assert inner_one is not inner_two and inner_one.parent is one and inner_two.parent is two
    assert inner_one.fields["id"] is not inner_two.fields["id"]
    assert inner_one.fields["id"].parent is inner_one
    declared = FlatBody._declared_fields["customer"]
    assert inner_one.fields["id"] is not declared.fields["id"]
    assert one.validated_data["customer"]["id"] == "c1"  # the other's errors left it alone


def test_the_session_body_is_validated_as_before() -> None:
    body = {
        "customer": {"id": "cus_1", "email": "x"},
        "subscription": {"id": "sub_1", "currency": "EURO", "mrr_cents": -1},
        "return_url": "ftp://example.com",
        "metadata": {"plan": "pro"},
    }
    serializer = SessionIn(data=body)
    assert not serializer.is_valid()
    assert set(serializer.errors) == {"customer", "subscription", "return_url"}
    assert set(serializer.errors["customer"]) == {"email"}
    assert set(serializer.errors["subscription"]) == {"currency", "mrr_cents"}
    fine = SessionIn(data={"customer": {"id": "c"}, "subscription": {"id": "s"}})
    assert fine.is_valid(), fine.errors
    assert fine.validated_data["subscription"]["mrr_cents"] == 0


def test_flat_input_refuses_what_a_shallow_copy_would_share() -> None:
    with pytest.raises(TypeError, match="plain fields"):

        class Inner(FlatInput):
            child = PlainCustomer()

    with pytest.raises(TypeError, match="plain fields"):

        class Many(FlatInput):
            children = FlatCustomer(many=True)

    with pytest.raises(TypeError, match="plain fields"):

        class ListOfSerializers(FlatInput):
            items = serializers.ListField(child=FlatCustomer())

    with pytest.raises(TypeError, match="plain fields"):

        class ListOfLists(FlatInput):
            items = serializers.ListField(child=serializers.ListField())


def test_the_flow_bodies_are_flat() -> None:
    assert issubclass(AnswerIn, FlatInput) and issubclass(AcceptIn, FlatInput)
    assert AcceptIn(data={"offer": 0}).is_valid() is False
