"""Experiments: deterministic weighted assignment, the arm recorded on the
session, results with statistics checked against hand-computed values, stopping
keeps the winner; the API and the web pages."""

from __future__ import annotations

import secrets
from collections import Counter
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from offers.models import ExperimentStatus, ExperimentVariant
from offers.selectors import (
    VariantConfig,
    experiment_results,
    variant_for,
)
from offers.services import experiment_create, experiment_stop, offer_rule_create
from offers.statistics import sample_size_per_arm, two_proportion_z_test, wilson_interval
from surveys.models import CancelSession, Outcome, SessionStatus
from surveys.services import session_answer
from tests.factories import UserFactory, make_api_key, make_offer
from tests.offers.conftest import open_session
from workspaces.services import membership_add


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("outbound.services.task_queue", lambda *args, **kwargs: None)


# --- statistics, against values worked out by hand -----------------------------------


def test_wilson_interval_by_hand() -> None:
    # 30 of 100, z = 1.96: centre (0.3 + 1.9208/100) / 1.038415 = 0.307398,
    # half 1.96 * sqrt(0.0021 + 0.0000960) / 1.038415 = 0.088450.
    low, high = wilson_interval(30, 100)
    assert low == pytest.approx(0.21895, abs=1e-4)
    assert high == pytest.approx(0.39585, abs=1e-4)
    # 0 of 100 never gives a negative bound: [0, 2 * 0.018497].
    low, high = wilson_interval(0, 100)
    assert low == 0.0 and high == pytest.approx(0.036995, abs=1e-5)
    # 5 of 5: upper bound 1, lower 5 / (5 + 3.8415) = 0.5655.
    low, high = wilson_interval(5, 5)
    assert high == 1.0 and low == pytest.approx(0.5655, abs=1e-4)
    assert wilson_interval(0, 0) is None


def test_two_proportion_z_test_by_hand() -> None:
    # 30/100 vs 20/100: pooled 0.25, se = sqrt(0.25 * 0.75 * 0.02) = 0.0612372,
    # z = 0.1 / 0.0612372 = 1.63299, two-sided p = erfc(1.63299 / sqrt 2) = 0.10247.
    test = two_proportion_z_test(30, 100, 20, 100)
    assert test is not None
    assert test.difference == pytest.approx(0.1)
    assert test.z == pytest.approx(1.63299, abs=1e-5)
    assert test.p_value == pytest.approx(0.10247, abs=1e-5)
    # 45/150 vs 0/150: pooled 0.15, se = sqrt(0.15 * 0.85 * 2/150) = 0.041231,
    # z = 0.3 / 0.041231 = 7.2761.
    against_control = two_proportion_z_test(45, 150, 0, 150)
    assert against_control is not None
    assert against_control.z == pytest.approx(7.2761, abs=1e-3)
    assert against_control.p_value < 1e-10
    same = two_proportion_z_test(0, 10, 0, 10)
    assert same is not None and same.p_value == 1.0 and same.z == 0.0
    assert two_proportion_z_test(1, 0, 1, 10) is None


def test_wilson_interval_of_10_in_100() -> None:
    # centre (0.1 + 0.0192073) / 1.0384146 = 0.114797,
    # half 1.959964 * sqrt(0.0009 + 0.0000960365) / 1.0384146 = 0.059568.
    low, high = wilson_interval(10, 100)
    assert low == pytest.approx(0.055229, abs=1e-5)
    assert high == pytest.approx(0.174366, abs=1e-5)


def test_sample_size_for_80_percent_power_by_hand() -> None:
    # 0.3 vs 0.2: (1.959964 sqrt(2 * 0.25 * 0.75) + 0.841621 sqrt(0.21 + 0.16))² / 0.01
    # = (1.200227 + 0.511939)² / 0.01 = 293.15 -> 294 per arm (the textbook figure).
    assert sample_size_per_arm(0.3, 0.2) == 294
    assert sample_size_per_arm(0.2, 0.3) == 294
    # A smaller difference needs far more: 0.5 vs 0.45 -> 1565.
    assert sample_size_per_arm(0.5, 0.45) == 1565
    assert sample_size_per_arm(0.4, 0.4) is None


# --- assignment ----------------------------------------------------------------------


def test_assignment_is_deterministic_and_follows_the_weights() -> None:
    variants = (
        VariantConfig(id=1, name="a", weight=1, offer=None),
        VariantConfig(id=2, name="b", weight=1, offer=None),
        VariantConfig(id=3, name="c", weight=2, offer=None),
    )
    first = [variant_for(7, f"cus_{i}", variants).id for i in range(4000)]
    again = [variant_for(7, f"cus_{i}", variants).id for i in range(4000)]
    assert first == again
    shares = Counter(first)
    assert abs(shares[1] / 4000 - 0.25) < 0.03
    assert abs(shares[3] / 4000 - 0.5) < 0.03
    # Another experiment shuffles customers independently.
    other = [variant_for(8, f"cus_{i}", variants).id for i in range(4000)]
    assert other != first
    zero = (VariantConfig(id=1, name="a", weight=0, offer=None), *variants[1:2])
    assert {variant_for(7, f"cus_{i}", zero).id for i in range(200)} == {2}


@pytest.fixture
def experiment(workspace):
    low = make_offer(workspace, name="20% off", terms={"percent": 20, "months": 3}, categories=None)
    high = make_offer(
        workspace, name="30% off", terms={"percent": 30, "months": 3}, categories=None
    )
    made = experiment_create(
        workspace=workspace,
        name="Discount depth",
        variants=[("20%", low, 1), ("30%", high, 1), ("Control", None, 1)],
    )
    offer_rule_create(workspace=workspace, name="price", experiment=made, categories=["price"])
    return made


def test_the_flow_records_the_arm_and_the_same_customer_keeps_it(workspace, experiment) -> None:
    arms = {v.pk: v for v in experiment.variants.all()}
    seen: set[int] = set()
    for i in range(30):
        session = open_session(workspace, customer_id=f"cus_exp_{i}")
        answered = session_answer(token=session.token, reason_code="too_expensive")
        arm = arms[answered.experiment_variant_id]
        seen.add(arm.pk)
        assert answered.offer_id == arm.offer_id
        assert answered.status == (
            SessionStatus.ANSWERED if arm.offer_id is None else SessionStatus.OFFERED
        )
        # The same customer, another time (no acceptance, so no cooldown): same arm.
        CancelSession.objects.filter(pk=session.pk).update(status=SessionStatus.ABANDONED)
        later = open_session(workspace, customer_id=f"cus_exp_{i}")
        assert (
            session_answer(token=later.token, reason_code="too_expensive").experiment_variant_id
            == arm.pk
        )
    assert seen == set(arms)  # 30 customers reach all three arms


def test_a_control_customer_stays_without_an_offer_when_the_answer_changes(
    workspace, experiment
) -> None:
    make_offer(
        workspace, name="Pause", kind="pause", terms={"max_months": 2}, categories=["not_needed"]
    )
    control = experiment.variants.get(offer=None)
    for i in range(60):
        session = open_session(workspace, customer_id=f"cus_c_{i}")
        answered = session_answer(token=session.token, reason_code="too_expensive")
        if answered.experiment_variant_id == control.pk:
            changed = session_answer(token=session.token, reason_code="not_using")
            assert changed.offer_id is None and changed.experiment_variant_id == control.pk
            return
    pytest.fail("no customer landed in the control arm")


def bulk_sessions(
    workspace,
    variant,
    *,
    shown: int,
    saved: int,
    kept: int = 0,
    abandoned: int = 0,
    mrr: int = 4900,
) -> None:
    """``shown`` customers assigned to ``variant``: ``saved`` of them took its offer,
    ``kept`` kept their subscription without it, ``abandoned`` left, the rest
    cancelled; and one assigned who never answered (not counted)."""
    now = timezone.now()
    survey = workspace.surveys.get(is_default=True)
    rows = []
    for i in range(shown):
        outcome, is_kept = Outcome.CANCELLED, False
        if i < saved:
            outcome = Outcome.SAVED
        elif i < saved + kept:
            outcome, is_kept = Outcome.SAVED, True
        elif i < saved + kept + abandoned:
            outcome = Outcome.ABANDONED
        rows.append(
            CancelSession(
                workspace=workspace,
                survey=survey,
                survey_version=1,
                token=secrets.token_urlsafe(16),
                token_expires_at=now + timedelta(hours=1),
                customer_id=f"cus_{variant.pk}_{i}",
                subscription_id=f"sub_{variant.pk}_{i}",
                mrr_cents=mrr,
                created_at=now,
                answered_at=now,
                completed_at=now,
                status=SessionStatus.ABANDONED
                if outcome == Outcome.ABANDONED
                else SessionStatus.COMPLETED,
                outcome=outcome,
                kept=is_kept,
                offer_id=variant.offer_id,
                experiment_variant=variant,
            )
        )
    # Assigned but never answered: never reached the offer step, not counted.
    rows.append(
        CancelSession(
            workspace=workspace,
            survey=survey,
            survey_version=1,
            token=secrets.token_urlsafe(16),
            token_expires_at=now,
            customer_id=f"cus_{variant.pk}_unanswered",
            subscription_id=f"sub_{variant.pk}_unanswered",
            created_at=now,
            experiment_variant=variant,
        )
    )
    CancelSession.objects.bulk_create(rows)


def test_results_are_judged_on_cancellations(workspace, experiment) -> None:
    low, high, control = experiment.variants.order_by("id")
    # 30%: 200 assigned, 50 accepted, 10 kept without it, 30 abandoned, 110 cancelled.
    bulk_sessions(workspace, high, shown=200, saved=50, kept=10, abandoned=30, mrr=9900)
    # Control: 200 assigned, none accepted (no offer), 20 kept, 30 abandoned, 150 cancelled.
    bulk_sessions(workspace, control, shown=200, saved=0, kept=20, abandoned=30)
    # 20%: only 40 so far, with fewer cancellations than the control.
    bulk_sessions(workspace, low, shown=40, saved=20, kept=2)
    results = experiment_results(experiment=experiment)
    by_name = {v.name: v for v in results.variants}
    r30, r20, ctl = by_name["30%"], by_name["20%"], by_name["Control"]

    assert (r30.assigned, r30.accepted, r30.kept, r30.cancelled, r30.abandoned) == (
        200,
        50,
        60,
        110,
        30,
    )
    assert (ctl.assigned, ctl.accepted, ctl.kept, ctl.cancelled, ctl.abandoned) == (
        200,
        0,
        20,
        150,
        30,
    )
    # The control has a real rate: 150 / 200.
    assert ctl.cancel_rate == 0.75 and r30.cancel_rate == 0.55
    # Wilson, 110 of 200: centre (0.55 + 1.92073 / 200) / 1.019207 = 0.549059,
    # half 1.959964 * sqrt(0.2475 / 200 + 3.841459 / 160000) / 1.019207 = 0.068302.
    assert r30.cancel_interval == pytest.approx((0.480756, 0.617360), abs=1e-5)
    # 110/200 vs 150/200: pooled 0.65, se = sqrt(0.65 * 0.35 * (2 / 200)) = 0.0476970,
    # z = -0.2 / 0.0476970 = -4.19314, p = erfc(4.19314 / sqrt 2) = 0.0000275.
    assert r30.difference == pytest.approx(-0.2)
    assert r30.z == pytest.approx(-4.19313, abs=1e-4)
    assert r30.p_value == pytest.approx(2.752e-5, rel=1e-2)
    # 80% power at 0.55 vs 0.75: (1.959964 sqrt(2 * 0.65 * 0.35)
    # + 0.841621 sqrt(0.55 * 0.45 + 0.75 * 0.25))² / 0.2² = 88.09 -> 89 per arm.
    assert r30.sample_needed == 89
    assert r30.reading == "fewer_cancellations"
    # The accept rate stays, as the second figure.
    assert r30.accept_rate == 0.25 and ctl.accept_rate == 0.0
    assert r30.mrr_kept_cents == 60 * 9900 and ctl.mrr_kept_cents == 20 * 4900
    # 20%: 18 of 40 cancelled is fewer, but under the minimum sample: no verdict.
    assert r20.cancel_rate == 0.45 and r20.p_value is not None and r20.p_value < 0.05
    assert r20.reading == "too_early"
    assert ctl.reading == "control" and ctl.difference is None and ctl.p_value is None
    assert results.minimum_sample == 100
    assert results.better_ids == [high.pk] and results.suggested_id == high.pk


def test_no_winner_is_suggested_before_the_minimum_sample(workspace, experiment) -> None:
    low, high, control = experiment.variants.order_by("id")
    # Big differences, but 60 customers an arm: nothing is called better yet.
    bulk_sessions(workspace, high, shown=60, saved=40)
    bulk_sessions(workspace, low, shown=60, saved=30)
    bulk_sessions(workspace, control, shown=60, saved=0, kept=3)
    results = experiment_results(experiment=experiment)
    assert results.suggested_id is None
    assert {v.reading for v in results.variants if not v.is_control} == {"too_early"}
    assert all(v.p_value is not None and v.p_value < 0.001 for v in results.variants[:2])


def test_no_difference_is_not_a_winner(workspace, experiment) -> None:
    low, high, control = experiment.variants.order_by("id")
    bulk_sessions(workspace, high, shown=150, saved=30)
    bulk_sessions(workspace, low, shown=150, saved=27)
    bulk_sessions(workspace, control, shown=150, saved=0, kept=25)
    results = experiment_results(experiment=experiment)
    by_name = {v.name: v for v in results.variants}
    # 120/150 vs 125/150: pooled 245/300, se = sqrt(0.816667 * 0.183333 * 2 / 150)
    # = 0.0446800, z = -0.033333 / 0.0446800 = -0.74605.
    assert by_name["30%"].z == pytest.approx(-0.74605, abs=1e-4)
    assert by_name["30%"].reading == "no_difference"
    assert results.suggested_id is None


# --- stopping -------------------------------------------------------------------------


def test_stopping_keeps_the_winner_for_everyone(workspace, experiment) -> None:
    winner = experiment.variants.get(name="30%")
    experiment_stop(workspace=workspace, experiment_id=experiment.pk, winner_id=winner.pk)
    experiment.refresh_from_db()
    assert experiment.status == ExperimentStatus.STOPPED and experiment.winner == winner
    for i in range(10):
        session = open_session(workspace, customer_id=f"cus_after_{i}")
        answered = session_answer(token=session.token, reason_code="too_expensive")
        assert answered.offer_id == winner.offer_id
        assert answered.experiment_variant_id is None  # no longer in an experiment


def test_a_control_winner_means_no_offer(workspace, experiment) -> None:
    control = experiment.variants.get(offer=None)
    experiment_stop(workspace=workspace, experiment_id=experiment.pk, winner_id=control.pk)
    session = open_session(workspace)
    assert session_answer(token=session.token, reason_code="too_expensive").offer is None


# --- API ---------------------------------------------------------------------------------


@pytest.fixture
def api(workspace) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(workspace)}")
    return client


def test_api_lists_shows_and_stops(api, workspace, experiment) -> None:
    low, high, _control = experiment.variants.order_by("id")
    bulk_sessions(workspace, high, shown=10, saved=3)
    bulk_sessions(workspace, _control, shown=10, saved=0, kept=1, abandoned=1)
    listed = api.get("/api/v1/experiments")
    assert listed.status_code == 200
    assert listed.json()[0]["name"] == "Discount depth" and listed.json()[0]["assigned"] == 20
    detail = api.get(f"/api/v1/experiments/{experiment.pk}").json()
    assert detail["status"] == "running" and detail["winner"] is None
    assert detail["minimum_sample"] == 100 and detail["suggested"] is None
    assert detail["better"] == []
    by_name = {v["name"]: v for v in detail["variants"]}
    arm, control = by_name["30%"], by_name["Control"]
    assert (arm["assigned"], arm["accepted"], arm["kept"], arm["cancelled"]) == (10, 3, 3, 7)
    assert arm["cancel_rate"] == 0.7 and arm["accept_rate"] == 0.3
    assert len(arm["cancel_interval"]) == 2 and len(arm["accept_interval"]) == 2
    # 7/10 vs 8/10.
    assert arm["difference"] == pytest.approx(-0.1) and arm["reading"] == "too_early"
    assert arm["sample_needed"] == sample_size_per_arm(0.7, 0.8)
    assert control["is_control"] is True and control["cancel_rate"] == 0.8
    assert (control["kept"], control["abandoned"], control["reading"]) == (1, 1, "control")

    stopped = api.post(
        f"/api/v1/experiments/{experiment.pk}/stop", {"winner": high.pk}, format="json"
    )
    assert stopped.status_code == 200
    assert stopped.json()["status"] == "stopped" and stopped.json()["winner"] == high.pk
    repeat = api.post(
        f"/api/v1/experiments/{experiment.pk}/stop", {"winner": high.pk}, format="json"
    )
    assert repeat.status_code == 200
    other = api.post(f"/api/v1/experiments/{experiment.pk}/stop", {"winner": low.pk}, format="json")
    assert other.status_code == 409 and other.json()["error"]["code"] == "experiment_stopped"


def test_api_bad_input(api, workspace, other_workspace, experiment) -> None:
    theirs = experiment_create(
        workspace=other_workspace,
        name="Theirs",
        variants=[("a", None, 1), ("b", None, 1)],
    )
    foreign = ExperimentVariant.objects.filter(experiment=theirs).first()
    assert api.get(f"/api/v1/experiments/{theirs.pk}").status_code == 404
    stop = f"/api/v1/experiments/{experiment.pk}/stop"
    wrong = api.post(stop, {"winner": foreign.pk}, format="json")
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "unknown_variant"
    assert api.post(stop, {}, format="json").status_code == 400
    assert (
        api.post(
            f"/api/v1/experiments/{theirs.pk}/stop", {"winner": foreign.pk}, format="json"
        ).status_code
        == 404
    )
    assert APIClient().get("/api/v1/experiments").status_code == 401
    experiment.refresh_from_db()
    assert experiment.status == ExperimentStatus.RUNNING


# --- web UI -----------------------------------------------------------------------------


def signed_in(workspace, role: str) -> Client:
    user = UserFactory()
    membership_add(workspace=workspace, user=user, role=role)
    client = Client()
    client.force_login(user)
    return client


def test_web_pages_show_results_and_let_admins_stop(workspace, experiment) -> None:
    high = experiment.variants.get(name="30%")
    control = experiment.variants.get(offer=None)
    bulk_sessions(workspace, high, shown=120, saved=30, kept=6)
    bulk_sessions(workspace, control, shown=120, saved=0, kept=12)
    admin = signed_in(workspace, "admin")
    listing = admin.get(f"/app/{workspace.slug}/experiments/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "Discount depth" in html and f"/app/{workspace.slug}/experiments/" in html
    detail = admin.get(f"/app/{workspace.slug}/experiments/{experiment.pk}/").content.decode()
    # The cancel rates (84 of 120; 108 of 120) and the accept rate (30 of 120).
    assert "70.0%" in detail and "90.0%" in detail and "25.0%" in detail
    assert "\u221220.0 pp" in detail or "-20.0 pp" in detail  # a minus sign, or a hyphen
    assert 'data-reading="fewer_cancellations"' in detail
    assert f'data-suggested="{high.pk}"' in detail
    assert "Stop the experiment" in detail
    response = admin.post(
        f"/app/{workspace.slug}/experiments/{experiment.pk}/", {"winner": str(high.pk)}
    )
    assert response.status_code == 302
    experiment.refresh_from_db()
    assert experiment.winner == high


def test_web_roles(workspace, other_workspace, experiment) -> None:
    analyst = signed_in(workspace, "analyst")
    page = f"/app/{workspace.slug}/experiments/{experiment.pk}/"
    assert analyst.get(page).status_code == 200
    assert "Stop the experiment" not in analyst.get(page).content.decode()
    assert analyst.post(page, {"winner": "1"}).status_code == 403
    assert signed_in(workspace, "support").get(page).status_code == 403
    assert analyst.get(f"/app/{other_workspace.slug}/experiments/").status_code == 404


def test_two_arms_that_both_beat_the_control_but_tie_suggest_no_winner(
    workspace, experiment
) -> None:
    low, high, control = experiment.variants.order_by("id")
    bulk_sessions(workspace, high, shown=200, saved=60)  # cancel rate 0.70
    bulk_sessions(workspace, low, shown=200, saved=56)  # 0.72
    bulk_sessions(workspace, control, shown=200, saved=0, kept=16)  # 0.92
    results = experiment_results(experiment=experiment)
    by_name = {v.name: v for v in results.variants}
    assert by_name["30%"].reading == by_name["20%"].reading == "fewer_cancellations"
    assert results.better_ids == [high.pk, low.pk]
    # 140/200 vs 144/200: p = 0.66, no difference between them: no winner yet.
    assert results.suggested_id is None


def test_the_page_reads_a_tiny_p_value_plainly(workspace, experiment) -> None:
    high = experiment.variants.get(name="30%")
    control = experiment.variants.get(offer=None)
    bulk_sessions(workspace, high, shown=200, saved=80)
    bulk_sessions(workspace, control, shown=200, saved=0)
    detail = signed_in(workspace, "analyst").get(
        f"/app/{workspace.slug}/experiments/{experiment.pk}/"
    )
    html = detail.content.decode()
    assert "p &lt; 0.0001)" in html and "p = &lt;" not in html
