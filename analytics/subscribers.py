"""What analytics does when a session changes (``config.events``), in the
flow's transaction. Registered in ``AnalyticsConfig.ready``: for every session
event, order 90, move the session's contribution between rollup rows.

Last of the writes (after offers chose the offer shown, the outbox row and the
session's own UPDATE): concurrent outcomes of one day, survey, plan, reason and
shard share a rollup row, and its lock is held from the upsert to the commit, so
the upsert comes just before the commit. Measured under bench/flow.py, waits on
these locks were the flow's largest wait after the commit's WAL flush when the
upsert came first."""

from __future__ import annotations

from analytics.services import rollup_session_change
from config.events import DomainEvent, subscribe
from surveys.services import SESSION_EVENTS

ROLLUP_ORDER = 90


def rollups_update(event: DomainEvent) -> None:
    if event.after != event.before:
        rollup_session_change(session=event.session, before=event.before, after=event.after)


def register() -> None:
    for name in SESSION_EVENTS:
        subscribe(name, rollups_update, order=ROLLUP_ORDER)
