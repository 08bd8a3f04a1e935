"""Who sees which offer: rules by priority, every kind of condition, no offer
when nothing matches, contradictions refused, no discount loops, no query."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from config.errors import Invalid
from offers.models import OfferRule
from offers.services import experiment_create, offer_rule_create
from surveys.models import CancelSession, Outcome, SessionStatus
from surveys.services import session_accept, session_answer
from tests.factories import make_offer
from tests.offers.conftest import open_session
from tests.queries import max_queries


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("outbound.services.task_queue", lambda *args, **kwargs: None)


def shown(workspace, reason: str = "too_expensive", **session_kwargs):
    session = open_session(workspace, **session_kwargs)
    return session_answer(token=session.token, reason_code=reason).offer


@pytest.fixture
def discount(workspace):
    return make_offer(workspace, name="Discount", categories=None)


@pytest.fixture
def pause(workspace):
    return make_offer(
        workspace, name="Pause", kind="pause", terms={"max_months": 2}, categories=None
    )


def rule(workspace, offer=None, **conditions):
    conditions.setdefault("name", "rule")
    return offer_rule_create(workspace=workspace, offer=offer, **conditions)


def test_no_rule_no_offer(workspace, discount) -> None:
    assert shown(workspace) is None


@pytest.mark.parametrize(
    ("conditions", "session", "reason", "matches"),
    [
        ({"reasons": ["too_expensive"]}, {}, "too_expensive", True),
        ({"reasons": ["too_expensive"]}, {}, "not_using", False),
        ({"categories": ["price"]}, {}, "too_expensive", True),
        ({"categories": ["competitor"]}, {}, "too_expensive", False),
        ({"plans": ["Pro", "Team"]}, {"plan": "Pro"}, "too_expensive", True),
        ({"plans": ["Team"]}, {"plan": "Pro"}, "too_expensive", False),
        ({"min_mrr_cents": 4900, "max_mrr_cents": 9900}, {"mrr_cents": 4900}, "not_using", True),
        ({"min_mrr_cents": 5000}, {"mrr_cents": 4900}, "not_using", False),
        ({"max_mrr_cents": 4899}, {"mrr_cents": 4900}, "not_using", False),
        ({"min_tenure_days": 30}, {"tenure": 31}, "not_using", True),
        ({"min_tenure_days": 30}, {"tenure": 29}, "not_using", False),
        ({"max_tenure_days": 30}, {"tenure": 400}, "not_using", False),
        ({"min_tenure_days": 1}, {"tenure": None}, "not_using", False),  # unknown tenure
        ({"locales": ["zh-hans"]}, {"locale": "zh-hans"}, "not_using", True),
        ({"locales": ["zh-hans"]}, {"locale": "en"}, "not_using", False),
        ({"metadata": {"tier": "gold"}}, {"metadata": {"tier": "gold", "x": 1}}, "not_using", True),
        ({"metadata": {"tier": "gold"}}, {"metadata": {"tier": "silver"}}, "not_using", False),
        ({"metadata": {"tier": "gold"}}, {"metadata": {}}, "not_using", False),
    ],
)
def test_each_condition(workspace, discount, conditions, session, reason, matches) -> None:
    rule(workspace, discount, **conditions)
    tenure = session.pop("tenure", "unset")
    if tenure != "unset":
        session["started_at"] = (
            timezone.now() - timedelta(days=tenure, hours=1) if tenure is not None else None
        )
    offer = shown(workspace, reason, **session)
    assert (offer == discount) is matches


def test_first_matching_rule_by_priority_wins(workspace, discount, pause) -> None:
    rule(workspace, pause, categories=["price"], priority=20)
    rule(workspace, discount, categories=["price"], priority=10)
    rule(workspace, pause, priority=30)  # catch-all
    assert shown(workspace) == discount
    assert shown(workspace, "not_using") == pause


def test_a_rule_naming_no_offer_means_none(workspace, discount) -> None:
    rule(workspace, None, plans=["Enterprise"], priority=1, name="Never discount enterprise")
    rule(workspace, discount, categories=["price"], priority=10)
    assert shown(workspace, plan="Enterprise") is None
    assert shown(workspace, plan="Pro") == discount


def test_an_inactive_offer_is_passed_over(workspace, discount, pause) -> None:
    rule(workspace, discount, categories=["price"], priority=10)
    rule(workspace, pause, priority=20)
    discount.is_active = False
    discount.save()
    from workspaces.services import workspace_config_bump

    workspace_config_bump(workspace_id=workspace.pk)
    assert shown(workspace) == pause


@pytest.mark.parametrize(
    ("conditions", "field"),
    [
        ({"min_mrr_cents": 9900, "max_mrr_cents": 1900}, "max_mrr_cents"),
        ({"min_tenure_days": 365, "max_tenure_days": 30}, "max_tenure_days"),
        ({"min_mrr_cents": -1}, "min_mrr_cents"),
        ({"categories": ["cheap"]}, "categories"),
        ({"locales": ["fr"]}, "locales"),
        ({"metadata": ["tier"]}, "metadata"),
        ({"plans": "Pro"}, "plans"),
    ],
)
def test_contradictory_or_invalid_conditions_are_refused(workspace, discount, conditions, field):
    with pytest.raises(Invalid) as error:
        rule(workspace, discount, **conditions)
    assert error.value.code == "invalid_rule"
    assert field in error.value.fields
    assert error.value.status_code == 422
    assert not OfferRule.objects.exists()
    # The model (and so the admin form) refuses the same.
    values = {"categories": [], "plans": [], "locales": [], "metadata": {}, **conditions}
    with pytest.raises(ValidationError) as invalid:
        OfferRule(workspace=workspace, name="x", offer=discount, **values).full_clean()
    assert field in invalid.value.message_dict


def test_offer_and_experiment_together_is_refused(workspace, discount, pause) -> None:
    experiment = experiment_create(
        workspace=workspace, name="e", variants=[("a", discount, 1), ("b", None, 1)]
    )
    with pytest.raises(Invalid) as error:
        rule(workspace, discount, experiment=experiment)
    assert "experiment" in error.value.fields


def test_another_workspaces_offer_is_refused(workspace, other_workspace, discount) -> None:
    theirs = make_offer(other_workspace, name="Theirs")
    with pytest.raises(Invalid) as error:
        rule(workspace, theirs)
    assert "offer" in error.value.fields


def accept_once(workspace, offer, customer_id: str, *, days_ago: int) -> None:
    session = open_session(workspace, customer_id=customer_id)
    session_answer(token=session.token, reason_code="too_expensive")
    session_accept(token=session.token, offer_id=offer.pk)
    CancelSession.objects.filter(pk=session.pk).update(
        completed_at=timezone.now() - timedelta(days=days_ago)
    )


def test_no_offer_again_within_the_cooldown(workspace, discount) -> None:
    rule(workspace, discount, categories=["price"])
    accept_once(workspace, discount, "cus_loop", days_ago=30)
    again = open_session(workspace, customer_id="cus_loop")
    answered = session_answer(token=again.token, reason_code="too_expensive")
    assert answered.offer is None and answered.status == SessionStatus.ANSWERED
    # Another customer still gets it; so does this one once the cooldown is over.
    assert shown(workspace) == discount
    CancelSession.objects.filter(customer_id="cus_loop", outcome=Outcome.SAVED).update(
        completed_at=timezone.now() - timedelta(days=91)
    )
    assert shown(workspace, customer_id="cus_loop_2") == discount


def test_cooldown_ends_and_can_be_switched_off(workspace, discount) -> None:
    rule(workspace, discount, categories=["price"])
    accept_once(workspace, discount, "cus_a", days_ago=91)
    assert shown(workspace, customer_id="cus_a") == discount
    accept_once(workspace, discount, "cus_b", days_ago=1)
    workspace.offer_cooldown_days = 0
    workspace.save(update_fields=["offer_cooldown_days"])
    assert shown(workspace, customer_id="cus_b") == discount


def test_uses_per_customer_cap_passes_to_the_next_rule(workspace, pause) -> None:
    once = make_offer(workspace, name="Once", max_uses_per_customer=1, categories=None)
    rule(workspace, once, categories=["price"], priority=10)
    rule(workspace, pause, categories=["price"], priority=20)
    accept_once(workspace, once, "cus_used", days_ago=200)  # beyond the cooldown
    assert shown(workspace, customer_id="cus_used") == pause
    assert shown(workspace, customer_id="cus_fresh") == once


def test_history_rides_on_the_lock_query_and_picking_costs_none(workspace, discount) -> None:
    rule(workspace, discount, categories=["price"])
    warm = open_session(workspace)
    session_answer(token=warm.token, reason_code="too_expensive")  # loads the rules
    session = open_session(workspace)
    with max_queries(4) as queries:
        session_answer(token=session.token, reason_code="too_expensive")
    statements = [q["sql"].upper() for q in queries.captured_queries]
    lock = next(s for s in statements if s.startswith("SELECT"))
    aggregate = "STRING_AGG" if connection.vendor == "postgresql" else "GROUP_CONCAT"
    assert aggregate in lock and 'FROM "SURVEYS_CANCELSESSION"' in lock


def test_loading_the_rules_is_one_query(workspace, discount, pause) -> None:
    from offers.selectors import offer_rules

    experiment = experiment_create(
        workspace=workspace,
        name="e",
        variants=[("a", discount, 1), ("b", pause, 1), ("c", None, 2)],
    )
    rule(workspace, experiment=experiment, priority=5)
    rule(workspace, discount, categories=["price"], priority=10)
    workspace.refresh_from_db()
    with max_queries(1):
        rules = offer_rules(workspace=workspace)
    assert [r.priority for r in rules] == [5, 10]
    assert rules[0].experiment is not None
    assert [v.offer.name if v.offer else None for v in rules[0].experiment.variants] == [
        "Discount",
        "Pause",
        None,
    ]
    assert rules[1].offer == discount and rules[1].offer.terms == {"percent": 30, "months": 3}


def test_a_new_rule_applies_to_the_next_answer(workspace, discount) -> None:
    assert shown(workspace) is None
    rule(workspace, discount, categories=["price"])
    assert shown(workspace) == discount
