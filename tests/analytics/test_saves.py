"""Saves that last, on a hand-built history (now = 2026-06-01 00:00 UTC).

s1  saved 2026-01-01 (offer A)  cancelled 2026-01-20 (19 days later)
s2  saved 2026-02-01 (offer A)  cancelled 2026-03-23 (50 days later)
s3  saved 2026-02-15 (offer A)  cancelled 2026-05-10 (84 days later), reactivated after
s4  saved 2026-03-15 (offer B)  a cancellation before the save (03-10) and one of the
                                same subscription id in another workspace: not its own
s5  saved 2026-05-20 (offer A)  cancelled 05-25: too recent to have matured anywhere
s6  cancelled in the flow        its later cancellation is not a save's

horizon  matured         retained
30       s1 s2 s3 s4     s2 s3 s4     (s1 gone in 19 days)
60       s1 s2 s3 s4     s3 s4
90       s1 s2 s3        none          (s4 has not had 90 days yet)
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from analytics.selectors.filters import AnalyticsFilters
from analytics.selectors.saves import saves
from offers.saves import durable_saves_by_variant
from offers.subscription_events import SubscriptionEventInput, subscription_event_record
from surveys.services import session_accept, session_answer, session_cancel
from tests.factories import make_api_key, make_offer, make_session, make_workspace

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def event(workspace: Any, sub: str, kind: str, when: str) -> None:
    subscription_event_record(
        workspace=workspace,
        event=SubscriptionEventInput(
            id=f"{sub}-{kind}-{when}", subscription=sub, type=kind, occurred_at=at(when)
        ),
    )


@pytest.fixture
def history(db: None) -> dict[str, Any]:
    workspace = make_workspace(slug="lasting")
    offer_a = make_offer(workspace, name="A: 30% off", priority=10)
    offer_b = make_offer(
        workspace,
        name="B: a free month",
        kind="extension",
        terms={"days": 30},
        categories=["not_needed"],
        priority=20,
    )

    def saved(sub: str, when: str, offer: Any, reason: str) -> Any:
        s = make_session(workspace, subscription_id=sub, now=at(when))
        session_answer(token=s.token, reason_code=reason, now=at(when))
        return session_accept(token=s.token, offer_id=offer.pk, now=at(when))

    saved("sub_1", "2026-01-01T12:00", offer_a, "too_expensive")
    event(workspace, "sub_1", "cancelled", "2026-01-20T12:00")
    saved("sub_2", "2026-02-01T12:00", offer_a, "too_expensive")
    event(workspace, "sub_2", "renewed", "2026-03-01T12:00")
    event(workspace, "sub_2", "cancelled", "2026-03-23T12:00")
    saved("sub_3", "2026-02-15T12:00", offer_a, "too_expensive")
    event(workspace, "sub_3", "cancelled", "2026-05-10T12:00")
    event(workspace, "sub_3", "reactivated", "2026-05-12T12:00")
    saved("sub_4", "2026-03-15T12:00", offer_b, "not_using")
    event(workspace, "sub_4", "cancelled", "2026-03-10T12:00")
    elsewhere = make_workspace()
    event(elsewhere, "sub_4", "cancelled", "2026-03-20T12:00")
    saved("sub_5", "2026-05-20T12:00", offer_a, "too_expensive")
    event(workspace, "sub_5", "cancelled", "2026-05-25T12:00")
    s6 = make_session(workspace, subscription_id="sub_6", now=at("2026-01-05T12:00"))
    session_cancel(token=s6.token, now=at("2026-01-05T12:01"))
    event(workspace, "sub_6", "cancelled", "2026-01-06T12:00")
    return {"workspace": workspace, "a": offer_a, "b": offer_b}


YEAR = AnalyticsFilters(date_from=at("2025-06-02T00:00").date(), date_to=NOW.date())


@pytest.mark.parametrize(
    ("horizon", "matured", "retained", "rate"),
    [(30, 4, 3, 0.75), (60, 4, 2, 0.5), (90, 3, 0, 0.0)],
)
def test_saves_at_each_horizon(
    history: dict[str, Any], horizon: int, matured: int, retained: int, rate: float
) -> None:
    found = saves(workspace=history["workspace"], filters=YEAR, horizon=horizon, now=NOW)

    assert (found["saved"], found["matured"], found["retained"], found["rate"]) == (
        5,
        matured,
        retained,
        rate,
    )


def test_saves_by_offer(history: dict[str, Any]) -> None:
    found = saves(workspace=history["workspace"], filters=YEAR, horizon=60, now=NOW)

    rows = {r["offer"]: r for r in found["by_offer"]}
    a, b = history["a"].pk, history["b"].pk
    assert [r["offer"] for r in found["by_offer"]] == [a, b]  # most saves first
    assert rows[a] | {} == {
        "offer": a,
        "name": "A: 30% off",
        "kind": "discount_percent",
        "saved": 4,
        "matured": 3,
        "retained": 1,
        "rate": round(1 / 3, 4),
    }
    assert (rows[b]["saved"], rows[b]["matured"], rows[b]["retained"], rows[b]["rate"]) == (
        1,
        1,
        1,
        1.0,
    )


def test_the_period_counts_saves_by_the_day_they_were_made(history: dict[str, Any]) -> None:
    february = AnalyticsFilters(
        date_from=at("2026-02-01T00:00").date(), date_to=at("2026-02-28T00:00").date()
    )

    found = saves(workspace=history["workspace"], filters=february, horizon=30, now=NOW)

    assert (found["saved"], found["matured"], found["retained"]) == (2, 2, 2)
    assert (
        saves(
            workspace=history["workspace"],
            filters=YEAR.__class__(date_from=YEAR.date_from, date_to=YEAR.date_to, plan="Team"),
            horizon=30,
            now=NOW,
        )["saved"]
        == 0
    )


def test_nothing_saved_has_no_rate(db: None) -> None:
    found = saves(workspace=make_workspace(), filters=YEAR, horizon=90, now=NOW)

    assert found | {"from": None, "to": None} == {
        "horizon": 90,
        "from": None,
        "to": None,
        "saved": 0,
        "matured": 0,
        "retained": 0,
        "rate": None,
        "by_offer": [],
    }


def test_the_api_answers_the_figure_and_refuses_a_bad_horizon(
    history: dict[str, Any], time_machine: Any = None
) -> None:
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(history['workspace'])}")

    found = client.get("/api/v1/analytics/saves", {"horizon": 30, "from": "2025-06-02"})
    bad = client.get("/api/v1/analytics/saves", {"horizon": 45})

    assert found.status_code == 200, found.content
    body = found.json()
    # Today is past 2026-06-01: every save has matured at 30 days; s5 did not last.
    assert (body["saved"], body["matured"], body["retained"]) == (5, 5, 3)
    assert {r["name"] for r in body["by_offer"]} == {"A: 30% off", "B: a free month"}
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"] == {"horizon": "30, 60 or 90"}


def test_durable_save_rate_per_experiment_arm(db: None) -> None:
    from offers.models import Experiment, ExperimentVariant

    workspace = make_workspace()
    cheap = make_offer(workspace, name="10% off", terms={"percent": 10, "months": 3})
    deep = make_offer(workspace, name="50% off", terms={"percent": 50, "months": 3}, priority=200)
    experiment = Experiment.objects.create(workspace=workspace, name="depth")
    arms = [
        ExperimentVariant.objects.create(experiment=experiment, name=o.name, offer=o)
        for o in (cheap, deep)
    ]
    for i, (arm, lasted) in enumerate([(0, True), (0, False), (1, True), (1, True)]):
        s = make_session(workspace, subscription_id=f"sub_x{i}", now=at("2026-01-10T12:00"))
        answered = session_answer(
            token=s.token, reason_code="too_expensive", now=at("2026-01-10T12:00")
        )
        # The arm as the experiment would have drawn it (the drawing is tested elsewhere).
        type(s).objects.filter(pk=s.pk).update(experiment_variant=arms[arm])
        session_accept(token=s.token, offer_id=answered.offer_id, now=at("2026-01-10T12:01"))
        if not lasted:
            event(workspace, f"sub_x{i}", "cancelled", "2026-02-01T00:00")

    found = durable_saves_by_variant(
        workspace=workspace, variant_ids=[a.pk for a in arms], horizon=90, now=NOW
    )

    assert found[arms[0].pk] == {"saved": 2, "matured": 2, "retained": 1, "rate": 0.5}
    assert found[arms[1].pk] == {"saved": 2, "matured": 2, "retained": 2, "rate": 1.0}


def test_the_experiment_page_shows_each_arms_durable_save_rate(db: None) -> None:
    from offers.models import Experiment, ExperimentVariant
    from tests.analytics.test_dashboard import member
    from workspaces.models import Role

    workspace = make_workspace()
    offer = make_offer(workspace)
    experiment = Experiment.objects.create(workspace=workspace, name="depth")
    arm = ExperimentVariant.objects.create(experiment=experiment, name="Thirty", offer=offer)
    ExperimentVariant.objects.create(experiment=experiment, name="Control", offer=None)
    for i, lasted in enumerate([True, True, False]):
        s = make_session(workspace, subscription_id=f"sub_e{i}", now=at("2026-01-10T12:00"))
        answered = session_answer(
            token=s.token, reason_code="too_expensive", now=at("2026-01-10T12:00")
        )
        type(s).objects.filter(pk=s.pk).update(experiment_variant=arm)
        session_accept(token=s.token, offer_id=answered.offer_id, now=at("2026-01-10T12:01"))
        if not lasted:
            event(workspace, f"sub_e{i}", "cancelled", "2026-02-01T00:00")

    response = member(workspace, Role.ANALYST).get(
        f"/app/{workspace.slug}/experiments/{experiment.pk}/"
    )

    assert response.status_code == 200
    page = response.content.decode()
    row = re.search(r'<tr data-variant-lasting="Thirty">(.*?)</tr>', page, re.S)
    assert row
    cells = [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row.group(1))
    ]
    assert cells == ["Thirty", "3", "3", "2", "66.7%"]
    control = re.search(r'<tr data-variant-lasting="Control">(.*?)</tr>', page, re.S)
    assert control and "—" in control.group(1)


def test_the_dashboards_horizons_add_up_every_save(history: dict[str, Any]) -> None:
    from analytics.selectors.saves import saves_horizons

    found = saves_horizons(workspace=history["workspace"], filters=YEAR, now=NOW)

    assert [(h["horizon"], h["saved"], h["matured"], h["retained"]) for h in found] == [
        (30, 5, 4, 3),
        (60, 5, 4, 2),
        (90, 5, 3, 0),
    ]
