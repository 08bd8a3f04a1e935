"""The one rule engine behind offer targeting and alert routing: every condition
against facts, what each kind of rule allows, validation naming the field, the
facts of a real session, and rules cached per configuration version."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from alerts.selectors import routing_config
from offers.selectors import offer_rules
from offers.services import offer_rule_create
from surveys.models import CancelSession
from surveys.rules import (
    ALL_CONDITIONS,
    ROUTING,
    TARGETING,
    Conditions,
    RuleKind,
    SessionFacts,
    conditions_match,
    conditions_validate,
    session_facts,
    tenure_days,
)
from surveys.services import session_accept, session_answer, session_cancel
from tests.alerts.conftest import make_rule, make_team
from tests.factories import make_offer
from tests.offers.conftest import open_session
from tests.queries import max_queries
from workspaces.services import workspace_config_bump

EVERY = RuleKind("every condition", ALL_CONDITIONS)
FACTS = SessionFacts(
    category="price",
    reason="too_expensive",
    outcome="cancelled",
    plan="Pro",
    mrr_cents=4900,
    tenure_days=120,
    risk_score=55,
    accepted_offer_kind="",
    locale="zh-hans",
    metadata={"tier": "gold", "seats": 3},
)


def facts(**changes: Any) -> SessionFacts:
    return SessionFacts(**{**FACTS.__dict__, **changes})


@pytest.mark.parametrize(
    ("conditions", "session", "matches"),
    [
        ({}, FACTS, True),  # no condition: everything matches
        ({"categories": ["price", "competitor"]}, FACTS, True),
        ({"categories": ["competitor"]}, FACTS, False),
        ({"reasons": ["too_expensive"]}, FACTS, True),
        ({"reasons": ["not_using"]}, FACTS, False),
        ({"outcomes": ["cancelled", "abandoned"]}, FACTS, True),
        ({"outcomes": ["saved"]}, FACTS, False),
        ({"plans": ["Pro"]}, FACTS, True),
        ({"plans": ["Team"]}, FACTS, False),
        ({"offer_kinds": ["support"]}, facts(accepted_offer_kind="support"), True),
        ({"offer_kinds": ["support"]}, FACTS, False),  # nothing accepted
        ({"locales": ["zh-hans"]}, FACTS, True),
        ({"locales": ["en"]}, FACTS, False),
        ({"min_mrr_cents": 4900}, FACTS, True),  # bounds are inclusive
        ({"min_mrr_cents": 4901}, FACTS, False),
        ({"max_mrr_cents": 4900}, FACTS, True),
        ({"max_mrr_cents": 4899}, FACTS, False),
        ({"min_tenure_days": 120, "max_tenure_days": 120}, FACTS, True),
        ({"min_tenure_days": 121}, FACTS, False),
        ({"max_tenure_days": 119}, FACTS, False),
        ({"min_tenure_days": 0}, facts(tenure_days=None), False),  # unknown tenure
        ({"max_tenure_days": 9999}, facts(tenure_days=None), False),
        ({"min_risk_score": 55}, FACTS, True),
        ({"min_risk_score": 56}, FACTS, False),
        ({"metadata": {"tier": "gold"}}, FACTS, True),
        ({"metadata": {"tier": "gold", "seats": 3}}, FACTS, True),
        ({"metadata": {"tier": "silver"}}, FACTS, False),
        ({"metadata": {"region": "eu"}}, FACTS, False),  # key missing
        ({"categories": ["price"], "plans": ["Team"]}, FACTS, False),  # all must hold
        ({"categories": [7]}, FACTS, False),  # a stored odd value never matches
        ({"metadata": ["tier"]}, FACTS, False),
    ],
)
def test_each_condition_against_the_facts(conditions, session, matches) -> None:
    assert conditions_match(EVERY.conditions_of(conditions), session) is matches
    # Each kind that allows the condition matches the same.
    for kind in (TARGETING, ROUTING):
        if set(conditions) <= set(kind.allowed):
            assert conditions_match(kind.conditions_of(conditions), session) is matches


def test_each_kind_reads_only_the_conditions_it_allows() -> None:
    everything = {
        "categories": ["competitor"],
        "reasons": ["not_using"],
        "outcomes": ["saved"],
        "plans": ["Team"],
        "offer_kinds": ["pause"],
        "locales": ["en"],
        "min_mrr_cents": 1,
        "max_mrr_cents": 2,
        "min_tenure_days": 1,
        "max_tenure_days": 2,
        "min_risk_score": 99,
        "metadata": {"tier": "silver"},
    }
    targeting = TARGETING.conditions_of(everything)
    assert targeting.outcomes == frozenset() and targeting.offer_kinds == frozenset()
    assert targeting.min_risk_score is None
    assert targeting.locales == {"en"} and targeting.metadata == (("tier", "silver"),)
    routing = ROUTING.conditions_of(everything)
    assert routing.locales == frozenset() and routing.metadata == ()
    assert routing.max_mrr_cents is None
    assert routing.outcomes == {"saved"} and routing.min_risk_score == 99
    # A model instance reads the same as a mapping.
    assert ROUTING.conditions_of(type("Rule", (), everything)()) == routing
    assert Conditions() == TARGETING.conditions_of({})


@pytest.mark.parametrize(
    ("kind", "values", "field", "message"),
    [
        (TARGETING, {"categories": ["cheap"]}, "categories", "unknown categories: cheap"),
        (ROUTING, {"categories": ["cheap"]}, "categories", "unknown categories: cheap"),
        (
            TARGETING,
            {"locales": ["fr"]},
            "locales",
            "unknown languages: fr (known: en, zh-hans, de)",
        ),
        (ROUTING, {"outcomes": ["exploded"]}, "outcomes", "unknown outcomes: exploded"),
        (TARGETING, {"plans": "Pro"}, "plans", "a list of strings"),
        (ROUTING, {"offer_kinds": [1]}, "offer_kinds", "a list of strings"),
        (TARGETING, {"reasons": None}, "reasons", "a list of strings"),
        (TARGETING, {"metadata": ["tier"]}, "metadata", "an object whose entries"),
        (TARGETING, {"min_mrr_cents": -1}, "min_mrr_cents", "a whole number, 0 or more"),
        (ROUTING, {"min_risk_score": 1.5}, "min_risk_score", "a whole number, 0 or more"),
        (
            TARGETING,
            {"min_mrr_cents": 9900, "max_mrr_cents": 1900},
            "max_mrr_cents",
            "must not be below the minimum MRR (min_mrr_cents 9900): no session could match",
        ),
        (
            ROUTING,
            {"min_tenure_days": 90, "max_tenure_days": 30},
            "max_tenure_days",
            "must not be below the minimum tenure (min_tenure_days 90): no session could match",
        ),
    ],
)
def test_validation_names_the_field(kind, values, field, message) -> None:
    errors = conditions_validate(kind, values)
    assert list(errors) == [field]
    assert errors[field].startswith(message)


def test_validation_checks_only_what_the_kind_allows_and_accepts_good_rules() -> None:
    assert conditions_validate(TARGETING, {"outcomes": ["exploded"]}) == {}
    assert conditions_validate(ROUTING, {"locales": ["fr"], "metadata": []}) == {}
    good = {
        "categories": ["price"],
        "outcomes": ["cancelled"],
        "min_tenure_days": 30,
        "max_tenure_days": 30,
        "min_risk_score": 60,
    }
    assert conditions_validate(ROUTING, good) == {}


def test_tenure_counts_whole_days_and_never_below_zero() -> None:
    now = timezone.now()
    assert tenure_days(None, now) is None
    assert tenure_days(now - timedelta(days=3, hours=23), now) == 3
    assert tenure_days(now + timedelta(days=2), now) == 0


def test_the_facts_of_a_session_at_each_step(workspace) -> None:
    support = make_offer(workspace, name="Call us", kind="support", terms={}, categories=None)
    started = timezone.now() - timedelta(days=400)
    session = open_session(
        workspace, mrr_cents=29900, plan="Team", started_at=started, metadata={"tier": "gold"}
    )
    session_answer(token=session.token, reason_code="too_expensive")
    answered = CancelSession.objects.select_related("response", "offer", "workspace").get(
        pk=session.pk
    )
    found = session_facts(answered, at=started + timedelta(days=10))
    assert found == SessionFacts(
        category="price",
        reason="too_expensive",
        outcome="",
        plan="Team",
        mrr_cents=29900,
        tenure_days=10,
        risk_score=found.risk_score,
        accepted_offer_kind="",
        locale="en",
        metadata={"tier": "gold"},
    )
    # The same session cancelled: an outcome, a tenure at its end, a higher risk.
    session_cancel(token=session.token)
    cancelled = session_facts(CancelSession.objects.get(pk=session.pk))
    assert cancelled.outcome == "cancelled" and cancelled.tenure_days == 400
    assert cancelled.risk_score > found.risk_score
    assert cancelled.accepted_offer_kind == ""
    # Saved by an accepted offer: routing sees the offer's kind.
    other = open_session(workspace)
    offer_rule_create(workspace=workspace, name="call", offer=support)
    assert session_answer(token=other.token, reason_code="too_expensive").offer == support
    session_accept(token=other.token, offer_id=support.pk)
    saved = session_facts(CancelSession.objects.get(pk=other.pk))
    assert saved.outcome == "saved" and saved.accepted_offer_kind == "support"


def test_offer_rules_are_cached_until_the_configuration_changes(workspace) -> None:
    from offers.models import OfferRule

    discount = make_offer(workspace, name="Discount", categories=None)
    OfferRule.objects.create(workspace=workspace, name="first", offer=discount, priority=1)
    workspace_config_bump(workspace_id=workspace.pk)
    workspace.refresh_from_db()
    assert [r.name for r in offer_rules(workspace=workspace)] == ["first"]
    # A row written behind the cache's back is not seen until the version moves.
    OfferRule.objects.create(workspace=workspace, name="second", offer=discount, priority=2)
    with max_queries(0):
        assert [r.name for r in offer_rules(workspace=workspace)] == ["first"]
    workspace_config_bump(workspace_id=workspace.pk)
    workspace.refresh_from_db()
    assert [r.name for r in offer_rules(workspace=workspace)] == ["first", "second"]


def test_routing_rules_are_cached_until_the_configuration_changes(workspace) -> None:
    team = make_team(workspace, "Success", email="cs@example.com")
    make_rule(workspace, team, name="big", min_mrr_cents=9900)
    workspace_config_bump(workspace_id=workspace.pk)
    workspace.refresh_from_db()
    config = routing_config(workspace=workspace)
    assert [(r.rule.name, r.conditions.min_mrr_cents) for r in config.rules] == [("big", 9900)]
    make_rule(workspace, team, name="price", categories=["price"])
    with max_queries(0):
        again = routing_config(workspace=workspace)
    assert again is config and [r.rule.name for r in again.rules] == ["big"]
    workspace_config_bump(workspace_id=workspace.pk)
    workspace.refresh_from_db()
    fresh = routing_config(workspace=workspace)
    assert sorted(r.rule.name for r in fresh.rules) == ["big", "price"]
    assert next(r for r in fresh.rules if r.rule.name == "price").conditions.categories == {"price"}
