"""Each save's first cancellation (``CancelSession.save_cancelled_at``), kept by
the event and session writes, gives the saves figure exactly what a recount
from the events gives (``durable_saves_recount``, the figure's definition as a
semi-join per save); on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import hashlib
import importlib
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection

from offers.saves import (
    HORIZONS,
    SavesScope,
    durable_saves,
    durable_saves_at,
    durable_saves_recount,
    save_cancellations_refresh,
)
from offers.subscription_events import (
    SubscriptionEventInput,
    subscription_event_record,
    subscription_events_erase,
)
from surveys.models import CancelSession
from surveys.services import session_accept, session_answer, session_cancel, session_keep
from tests.factories import make_offer, make_session, make_workspace

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def record(workspace: Any, sub: str, kind: str, when: datetime, event_id: str = "") -> None:
    subscription_event_record(
        workspace=workspace,
        event=SubscriptionEventInput(
            id=event_id or f"{sub}-{kind}-{when.isoformat()}",
            subscription=sub,
            type=kind,
            occurred_at=when,
        ),
    )


def pseudonym(event_id: str) -> str:
    return hashlib.sha256(event_id.encode()).hexdigest()[:20]


def keep(workspace: Any, sub: str, when: datetime) -> CancelSession:
    s = make_session(workspace, subscription_id=sub, now=when)
    return session_keep(token=s.token, now=when)


def accept(workspace: Any, sub: str, when: datetime) -> CancelSession:
    s = make_session(workspace, subscription_id=sub, now=when)
    answered = session_answer(token=s.token, reason_code="too_expensive", now=when)
    assert answered.offer_id is not None
    return session_accept(token=s.token, offer_id=answered.offer_id, now=when)


def figures(workspace: Any, horizon: int, **kwargs: Any) -> tuple[int, int, int]:
    found = durable_saves(workspace=workspace, horizon=horizon, now=NOW, **kwargs)[None]
    return found["saved"], found["matured"], found["retained"]


def columns(workspace: Any) -> dict[Any, Any]:
    return dict(
        CancelSession.objects.filter(workspace=workspace).values_list("pk", "save_cancelled_at")
    )


def assert_figures_equal_a_recount(workspace: Any) -> None:
    all_at_once = durable_saves_at(workspace=workspace, group_by="offer_id", now=NOW)
    scopes = [
        SavesScope(),
        SavesScope(since=at("2026-02-01T00:00"), until=at("2026-04-15T00:00")),
        SavesScope(plan="Team"),
    ]
    for horizon in HORIZONS:
        for group_by in (None, "offer_id"):
            for scope in scopes:
                kept = durable_saves(
                    workspace=workspace, horizon=horizon, scope=scope, group_by=group_by, now=NOW
                )
                recount = durable_saves_recount(
                    workspace=workspace, horizon=horizon, scope=scope, group_by=group_by, now=NOW
                )
                assert kept == recount, (horizon, group_by, scope)
        assert all_at_once[horizon] == durable_saves_recount(
            workspace=workspace, horizon=horizon, group_by="offer_id", now=NOW
        )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_random_history_counts_as_a_recount_does(db: None, seed: int) -> None:
    """Saves and events in any order (an event before the session that names its
    subscription, dated before or after its save), several saves of one
    subscription, cancellations exactly at a save and exactly a horizon after it,
    reactivations, renewals, replays, the same subscriptions in another
    workspace, and erasures (with a replay erased again)."""
    rng = random.Random(seed)
    workspace = make_workspace()
    elsewhere = make_workspace()
    make_offer(workspace)
    subs = [f"sub_{seed}_{i}" for i in range(14)]
    saves: list[CancelSession] = []
    start = at("2026-01-01T00:00")
    for step in range(70):
        when = start + timedelta(minutes=rng.randrange(0, 150 * 24 * 60))
        sub = rng.choice([*subs, "sub_nobody"])
        roll = rng.random()
        if roll < 0.3 and sub != "sub_nobody":
            try:
                saves.append((accept if rng.random() < 0.5 else keep)(workspace, sub, when))
            except Exception:
                continue
        elif roll < 0.35:
            s = make_session(workspace, subscription_id=f"sub_gone_{step}", now=when)
            session_cancel(token=s.token, now=when)
        else:
            kind = rng.choice(
                ["cancelled", "cancelled", "reactivated", "renewed", "payment_failed"]
            )
            if saves and rng.random() < 0.4:
                # Exactly at a save, or exactly a horizon after it.
                save = rng.choice(saves)
                sub = save.subscription_id
                assert save.completed_at is not None
                when = save.completed_at + timedelta(days=rng.choice([0, *HORIZONS]))
                kind = "cancelled"
            record(rng.choice([workspace] * 4 + [elsewhere]), sub, kind, when)
            if rng.random() < 0.1:  # a replay
                record(workspace, sub, kind, when)
    # Erase a few customers' events; one replayed under its old id, erased again.
    erased = rng.sample(subs, 4)
    subscription_events_erase(
        workspace_id=workspace.pk, subscription_ids=erased, pseudonym=pseudonym
    )
    record(workspace, erased[0], "cancelled", at("2026-02-02T02:02"), event_id="again")
    record(workspace, erased[0], "cancelled", at("2026-02-02T02:02"), event_id="again")
    subscription_events_erase(
        workspace_id=workspace.pk, subscription_ids=erased, pseudonym=pseudonym
    )
    assert len(saves) >= 10

    assert_figures_equal_a_recount(workspace)
    # What the writes kept is what a recount from the events writes.
    kept = columns(workspace)
    save_cancellations_refresh(workspace_id=workspace.pk)
    assert columns(workspace) == kept


def test_the_edges_of_a_horizon(db: None) -> None:
    workspace = make_workspace()
    elsewhere = make_workspace()
    # Cancelled exactly 30 days after the save: lasted 30 days, not 60.
    keep(workspace, "sub_edge", at("2026-01-01T12:00"))
    record(workspace, "sub_edge", "cancelled", at("2026-01-31T12:00"))
    # Cancelled the very moment it was saved: lasted nothing.
    keep(workspace, "sub_same", at("2026-01-01T12:00"))
    record(workspace, "sub_same", "cancelled", at("2026-01-01T12:00"))
    # Reactivated, then cancelled 50 days after the save.
    keep(workspace, "sub_back", at("2026-01-01T12:00"))
    record(workspace, "sub_back", "cancelled", at("2025-12-30T12:00"))  # before: not its own
    record(workspace, "sub_back", "reactivated", at("2026-01-05T12:00"))
    record(workspace, "sub_back", "cancelled", at("2026-02-20T12:00"))
    # A cancellation recorded before the save, dated after it (the host's clock).
    record(workspace, "sub_early", "cancelled", at("2026-01-10T12:00"))
    record(workspace, "sub_early", "cancelled", at("2026-01-20T12:00"))
    early = keep(workspace, "sub_early", at("2026-01-01T12:00"))
    # Worked out by the save's own statement, and handed back.
    assert early.save_cancelled_at == at("2026-01-10T12:00")
    assert CancelSession.objects.get(pk=early.pk).save_cancelled_at == at("2026-01-10T12:00")
    # Cancellations of other subscriptions, and of this one in another workspace.
    keep(workspace, "sub_fine", at("2026-01-01T12:00"))
    record(workspace, "sub_other", "cancelled", at("2026-01-02T12:00"))
    record(elsewhere, "sub_fine", "cancelled", at("2026-01-02T12:00"))
    # Saved exactly 30 days before now: matured at 30 days; cancelled exactly 30
    # days later, so it lasted them.
    keep(workspace, "sub_just", NOW - timedelta(days=30))
    record(workspace, "sub_just", "cancelled", NOW)

    # saved 6; matured at 30: all 6; lost within 30: same, early -> 4 retained.
    assert figures(workspace, 30) == (6, 6, 4)
    # matured at 60 and 90: the five of January; lost: edge, same, back, early.
    assert figures(workspace, 60) == (6, 5, 1)
    assert figures(workspace, 90) == (6, 5, 1)
    assert_figures_equal_a_recount(workspace)

    # Erasing the customers' events leaves the figures as they were.
    before = columns(workspace)
    subscription_events_erase(
        workspace_id=workspace.pk,
        subscription_ids=["sub_edge", "sub_back", "sub_just"],
        pseudonym=pseudonym,
    )
    record(workspace, "sub_edge", "cancelled", at("2026-01-31T12:00"))  # replayed: a twin
    subscription_events_erase(
        workspace_id=workspace.pk,
        subscription_ids=["sub_edge"],
        pseudonym=pseudonym,
    )
    assert columns(workspace) == before
    assert [figures(workspace, h) for h in HORIZONS] == [(6, 6, 4), (6, 5, 1), (6, 5, 1)]


def test_the_migration_copy_and_the_refresh_command_count_the_same(db: None) -> None:
    workspace = make_workspace()
    for i in range(6):
        sub = f"sub_m{i}"
        keep(workspace, sub, at("2026-01-01T12:00") + timedelta(days=i))
        for days in (i * 9, i * 17 + 1):
            record(workspace, sub, "cancelled", at("2026-01-01T12:00") + timedelta(days=days))
    record(workspace, "sub_m0", "cancelled", at("2025-12-01T12:00"))
    kept = columns(workspace)
    assert sum(v is not None for v in kept.values()) == 6

    CancelSession.objects.update(save_cancelled_at=None)
    migration = importlib.import_module("surveys.migrations.0014_session_save_cancelled_at")
    migration.copy_first_cancellations(apps, connection.schema_editor())
    migration.copy_first_cancellations(apps, connection.schema_editor())  # again: the same
    assert columns(workspace) == kept

    CancelSession.objects.update(save_cancelled_at=None)
    call_command("saves_refresh", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert columns(workspace) == kept

    CancelSession.objects.filter(subscription_id="sub_m5").update(save_cancelled_at=None)
    call_command("saves_refresh", since="2026-01-01T00:00Z", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert columns(workspace) == kept


def test_the_dashboard_reads_three_horizons_at_once(
    db: None, django_assert_num_queries: Any
) -> None:
    from analytics.selectors.filters import AnalyticsFilters
    from analytics.selectors.saves import saves, saves_horizons

    workspace = make_workspace()
    keep(workspace, "sub_d1", at("2026-01-01T12:00"))
    record(workspace, "sub_d1", "cancelled", at("2026-02-15T12:00"))
    year = AnalyticsFilters(date_from=at("2025-06-02T00:00").date(), date_to=NOW.date())

    with django_assert_num_queries(1):
        found = saves_horizons(workspace=workspace, filters=year, now=NOW)

    assert found == [
        {
            "horizon": h,
            **{
                k: v
                for k, v in saves(workspace=workspace, filters=year, horizon=h, now=NOW).items()
                if k in ("saved", "matured", "retained", "rate")
            },
        }
        for h in HORIZONS
    ]
    assert [h["retained"] for h in found] == [1, 0, 0]


def test_saves_refresh_refuses_bad_input_and_says_how_far_it_is(db: None) -> None:
    import io

    from django.core.management.base import CommandError

    for since in ("yesterday", "2026-12-05T09:00"):  # not a time; no offset
        with pytest.raises(CommandError, match="--since: an ISO time with its offset"):
            call_command("saves_refresh", since=since, stdout=io.StringIO())
    with pytest.raises(CommandError, match="No workspace 'nope'"):
        call_command("saves_refresh", workspace="nope", stdout=io.StringIO())
    workspace = make_workspace()
    keep(workspace, "sub_p1", at("2026-01-01T12:00"))
    out = io.StringIO()
    call_command("saves_refresh", workspace=workspace.slug, stdout=out)
    assert "1 subscriptions to recount" in out.getvalue()
    assert out.getvalue().rstrip().endswith("saves recounted.")
