"""Offers in the admin (a rule added there applies to the next answer, and a
contradictory one is refused) and the demo's offers, rules and experiment."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from offers.models import Experiment, OfferRule
from offers.selectors import experiment_results
from surveys.models import CancelSession, Outcome
from surveys.services import session_answer
from tests.factories import UserFactory, make_offer
from tests.offers.conftest import open_session
from workspaces.models import Role
from workspaces.services import membership_add


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("outbound.services.task_queue", lambda *args, **kwargs: None)


def admin_client(workspace) -> Client:
    user = UserFactory()
    membership_add(workspace=workspace, user=user, role=Role.ADMIN)
    client = Client()
    client.force_login(user)
    return client


def rule_form(workspace, offer, **overrides) -> dict:
    return {
        "workspace": workspace.pk,
        "name": "Price",
        "priority": 1,
        "is_active": "on",
        "offer": offer.pk,
        "reasons": "[]",
        "categories": '["price"]',
        "plans": "[]",
        "locales": "[]",
        "metadata": "{}",
        **overrides,
    }


def test_a_rule_added_in_the_admin_applies_to_the_next_answer(workspace) -> None:
    offer = make_offer(workspace, categories=None)
    first = open_session(workspace)
    assert session_answer(token=first.token, reason_code="too_expensive").offer is None
    response = admin_client(workspace).post(
        "/admin/offers/offerrule/add/", rule_form(workspace, offer)
    )
    assert response.status_code == 302, response.content.decode()[:400]
    second = open_session(workspace)
    assert session_answer(token=second.token, reason_code="too_expensive").offer == offer


def test_the_admin_refuses_contradictory_conditions(workspace) -> None:
    offer = make_offer(workspace, categories=None)
    response = admin_client(workspace).post(
        "/admin/offers/offerrule/add/",
        rule_form(workspace, offer, min_mrr_cents=9900, max_mrr_cents=1900),
    )
    assert response.status_code == 200
    assert "no session could match" in response.content.decode()
    assert not OfferRule.objects.exists()


def test_the_demo_runs_an_experiment_with_consistent_history(db: None) -> None:
    call_command("seed_demo", "--history", "800", "--seed", "3", stdout=StringIO())
    experiment = Experiment.objects.get()
    assert experiment.status == "running"
    results = {v.name: v for v in experiment_results(experiment=experiment).variants}
    assert set(results) == {"20% off", "30% off", "No offer (control)"}
    assert all(v.assigned > 10 for v in results.values())
    assert results["30% off"].accepted > 0 and results["No offer (control)"].accepted == 0
    # The control arm has a real cancel rate: some of its customers kept their
    # subscription without an offer.
    control = results["No offer (control)"]
    assert 0 < control.kept < control.assigned and control.cancel_rate < 1
    # The experiment started when its history did, not when the demo was seeded.
    history_start = (
        CancelSession.objects.filter(customer_id__startswith="cus_hist_")
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    experiment.refresh_from_db()
    assert experiment.created_at == history_start
    history = CancelSession.objects.filter(customer_id__startswith="cus_hist_")
    in_experiment = history.filter(experiment_variant__isnull=False).select_related(
        "experiment_variant"
    )
    for session in in_experiment:
        assert session.offer_id == session.experiment_variant.offer_id
        assert session.plan in ("Starter", "Pro")
    saved = history.filter(outcome=Outcome.SAVED)
    accepted = saved.filter(kept=False)
    assert accepted.exists() and not accepted.filter(accepted_terms={}).exists()
    # Kept without an offer: nothing accepted, no terms.
    kept = saved.filter(kept=True)
    assert kept.exists() and not kept.exclude(accepted_terms={}).exists()
    kinds = set(saved.values_list("offer__kind", flat=True))
    assert {"discount_percent", "pause", "support"} <= kinds
    # An accepted pause (a kept session may have been shown one and taken nothing).
    pause = accepted.filter(offer__kind="pause").first()
    assert pause is not None and 1 <= pause.accepted_terms["months"] <= 3
    # Each reason's offer, as the issue asks.
    rules = {r.name: r for r in OfferRule.objects.select_related("offer")}
    assert rules["Not needed now: pause"].offer.kind == "pause"
    assert rules["Too complex: downgrade"].offer.kind == "downgrade"
    assert rules["Service or quality: support call"].offer.kind == "support"
