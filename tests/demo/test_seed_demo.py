from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from surveys.models import CancelSession, Outcome, Response
from workspaces.models import Workspace
from workspaces.services import workspace_update


def test_seed_demo_json_gives_working_credentials(db: None) -> None:
    out = StringIO()
    call_command("seed_demo", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert {"workspace", "api_key", "identity_secret", "username", "password"} <= set(data)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {data['api_key']}")
    assert client.get("/api/v1/sessions").status_code == 200
    assert client.login(username=data["username"], password=data["password"])
    assert client.get("/admin/surveys/cancelsession/").status_code == 200
    # Running it again keeps one workspace and hands out a fresh key.
    again = StringIO()
    call_command("seed_demo", "--json", stdout=again)
    second = json.loads(again.getvalue())
    assert second["workspace"] == data["workspace"]
    assert second["api_key"] != data["api_key"]


def test_history_is_a_believable_mix(db: None) -> None:
    call_command("seed_demo", "--history", "600", "--seed", "7", stdout=StringIO())
    history = CancelSession.objects.filter(customer_id__startswith="cus_hist_")
    assert history.count() == 600
    outcomes = {o: history.filter(outcome=o).count() for o in Outcome.values}
    assert outcomes[Outcome.ABANDONED] > 20
    assert outcomes[Outcome.SAVED] > 10
    assert outcomes[Outcome.CANCELLED] > outcomes[Outcome.SAVED]
    answers = Response.objects.filter(session__in=history)
    assert answers.count() == 600 - outcomes[Outcome.ABANDONED]
    assert answers.filter(locale="zh-hans").exists() and answers.filter(locale="en").exists()
    assert answers.exclude(text="").count() > 100
    assert answers.values("category").distinct().count() >= 8
    assert history.values("plan").distinct().count() == 4


@pytest.mark.parametrize("flag", ["--history", "--history-if-none"])
def test_bad_history_count_is_refused(db: None, flag: str) -> None:
    with pytest.raises(CommandError, match=f"{flag} must be 0 or more"):
        call_command("seed_demo", flag, "-5", stdout=StringIO())


@pytest.mark.parametrize("history", [600, 20000])
def test_demo_churn_and_retention_are_believable(db: None, history: int) -> None:
    """The demo's subscriber counts follow its history: however many sessions it
    has, the last 30 days show a churn rate a subscription business could have,
    and re-seeding with a larger history brings the counts along."""
    from datetime import timedelta

    from analytics.selectors import AnalyticsFilters, churn_rates, workspace_today
    from workspaces.models import Workspace

    call_command("seed_demo", stdout=StringIO())  # counts first posted with no history
    call_command("seed_demo", "--history", str(history), "--seed", "3", stdout=StringIO())
    workspace = Workspace.objects.get(slug="demo")
    today = workspace_today(workspace)
    rates = churn_rates(
        workspace=workspace,
        filters=AnalyticsFilters(date_from=today - timedelta(days=29), date_to=today),
    )
    assert rates is not None
    assert 1 <= rates["churn_rate"] <= 15, rates
    assert 85 <= rates["retention_rate"] <= 99, rates
    lost = CancelSession.objects.filter(
        workspace=workspace,
        outcome=Outcome.CANCELLED,
        customer_id__startswith="cus_hist_",
        created_at__date__gte=today - timedelta(days=29),
    ).count()
    assert rates["lost"] >= lost * 0.9  # the cancellations are among those lost


def test_a_first_run_gets_a_history_and_later_runs_add_none(db: None) -> None:
    """What `make run` passes: the dashboard has months to show on the first run,
    and running it again does not pile sessions up."""
    from datetime import timedelta

    from analytics.selectors import AnalyticsFilters, funnel, workspace_today
    from workspaces.models import Workspace

    history = CancelSession.objects.filter(customer_id__startswith="cus_hist_")
    call_command("seed_demo", "--history-if-none", "500", "--seed", "5", stdout=StringIO())
    assert history.count() == 500
    workspace = Workspace.objects.get(slug="demo")
    today = workspace_today(workspace)
    months = AnalyticsFilters(date_from=today - timedelta(days=200), date_to=today)
    figures = funnel(workspace=workspace, filters=months)
    assert figures["started"] >= 500  # counted into the rollups
    call_command("seed_demo", "--history-if-none", "500", stdout=StringIO())
    assert history.count() == 500
    call_command("seed_demo", "--history", "40", stdout=StringIO())  # more, on request
    assert history.count() == 540
    with pytest.raises(CommandError):
        call_command("seed_demo", "--history", "1", "--history-if-none", "1", stdout=StringIO())


def test_a_first_run_stopped_midway_leaves_no_history_and_the_next_adds_it_whole(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopped after its sessions went in but before the rollups counted them
    (Ctrl-C during the first `make run`), the history is not kept: the next run
    adds it again, counted, rather than skipping a history the figures miss."""
    from analytics.services import rollups_rebuild
    from demo import history as demo_history
    from workspaces.models import Workspace

    def stopped(**kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(demo_history, "rollups_rebuild", stopped)
    with pytest.raises(KeyboardInterrupt):
        call_command("seed_demo", "--history-if-none", "300", "--seed", "2", stdout=StringIO())
    history = CancelSession.objects.filter(customer_id__startswith="cus_hist_")
    assert not history.exists()
    monkeypatch.undo()
    call_command("seed_demo", "--history-if-none", "300", "--seed", "2", stdout=StringIO())
    assert history.count() == 300
    assert rollups_rebuild(workspace=Workspace.objects.get(slug="demo"), apply=False).ok


def test_the_demo_allows_its_own_origin_even_after_someone_narrowed_the_list(
    db: None, settings: Any
) -> None:
    """The demo's product page is /demo/ on this service: a second run after the
    list was set to another origin still opens its sample session."""
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8101"
    call_command("seed_demo", "--json", stdout=StringIO())
    workspace = Workspace.objects.get(slug="demo")
    assert workspace.allowed_origins == []  # any return_url, until someone sets some
    workspace_update(workspace=workspace, allowed_origins=["https://app.example.com"])

    call_command("seed_demo", "--json", stdout=StringIO())

    workspace.refresh_from_db()
    assert workspace.allowed_origins == ["https://app.example.com", "http://127.0.0.1:8101"]


def test_history_has_believable_later_events(db: None) -> None:
    """Some saved customers cancel within 90 days anyway; the rest renew; no event
    is in the future or before its save; the saves figure reads them."""
    from datetime import timedelta

    from django.utils import timezone

    from analytics.selectors.saves import saves, saves_filters
    from offers.models import SubscriptionEvent

    out = StringIO()
    call_command("seed_demo", "--history", "1500", "--seed", "11", "--json", stdout=out)
    data = json.loads(out.getvalue())
    workspace = Workspace.objects.get(public_id=data["workspace"])
    events = SubscriptionEvent.objects.filter(workspace=workspace)
    assert data["history_subscription_events"] == events.count() > 0
    saved = {
        s.subscription_id: s.completed_at
        for s in CancelSession.objects.filter(workspace=workspace, outcome=Outcome.SAVED)
    }
    cancels = events.filter(type="cancelled")
    assert cancels.exists() and events.filter(type="renewed").exists()
    soon = 0
    for event in events:
        assert event.subscription_id in saved
        assert saved[event.subscription_id] <= event.occurred_at <= timezone.now()
    for event in cancels:
        if event.occurred_at - saved[event.subscription_id] <= timedelta(days=90):
            soon += 1
    assert 0 < soon < len(saved)
    figure = saves(
        workspace=workspace, filters=saves_filters(workspace=workspace, params={}), horizon=90
    )
    assert figure["matured"] > 0
    assert 0.4 < figure["rate"] < 0.95
