"""Each kind of offer: which terms it needs, and the bad ones refused clearly."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from config.errors import Invalid
from offers.models import Offer, OfferKind, validate_terms
from tests.factories import make_offer

VALID = {
    "discount_percent": {"percent": 30, "months": 3},
    "discount_amount": {"amount_cents": 1000, "months": 2},
    "pause": {"max_months": 3},
    "downgrade": {"plan": "Starter", "price_cents": 1900, "stripe_price": "price_123"},
    "extension": {"days": 14},
    "trial_extension": {"days": 7},
    "support": {},
}


def test_every_kind_has_a_valid_example() -> None:
    assert set(VALID) == set(OfferKind.values)
    for kind, terms in VALID.items():
        assert validate_terms(kind, terms) == {}, kind


@pytest.mark.parametrize(
    ("kind", "terms", "field"),
    [
        ("discount_percent", {"percent": 0, "months": 3}, "percent"),
        ("discount_percent", {"percent": 101, "months": 3}, "percent"),
        ("discount_percent", {"percent": 30}, "months"),
        ("discount_percent", {"percent": "30", "months": 3}, "percent"),
        ("discount_percent", {"percent": True, "months": 3}, "percent"),
        ("discount_amount", {"amount_cents": 0, "months": 3}, "amount_cents"),
        ("pause", {"max_months": 13}, "max_months"),
        ("pause", {"max_months": 3, "min_months": 4}, "min_months"),
        ("downgrade", {"price_cents": 1900}, "plan"),
        (
            "downgrade",
            {"plan": "Starter", "price_cents": 1900, "stripe_price": "x"},
            "stripe_price",
        ),
        ("extension", {"days": 0}, "days"),
        ("trial_extension", {}, "days"),
        ("support", {"percent": 10}, "percent"),
        ("discount_percent", {"percent": 30, "months": 3, "percnt": 3}, "percnt"),
    ],
)
def test_bad_terms_are_named(kind, terms, field) -> None:
    assert field in validate_terms(kind, terms)


def test_the_service_refuses_bad_terms_and_unknown_kinds(workspace) -> None:
    with pytest.raises(Invalid) as bad:
        make_offer(workspace, kind="pause", terms={"max_months": 0})
    assert "max_months" in bad.value.fields["terms"]
    with pytest.raises(Invalid):
        make_offer(workspace, kind="free_money", terms={})
    with pytest.raises(Invalid):
        make_offer(workspace, max_uses_per_customer=0)
    assert not Offer.objects.filter(workspace=workspace).exists()


def test_model_clean_refuses_bad_terms(workspace) -> None:
    offer = Offer(workspace=workspace, name="x", kind="downgrade", terms={"plan": ""})
    with pytest.raises(ValidationError) as error:
        offer.full_clean()
    assert "terms" in error.value.message_dict


def test_an_offer_made_for_categories_gets_a_rule(workspace) -> None:
    offer = make_offer(workspace, categories=["price", "competitor"])
    rule = offer.rules.get()
    assert rule.categories == ["price", "competitor"]
    assert rule.priority == offer.priority
