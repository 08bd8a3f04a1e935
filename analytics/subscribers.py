"""What analytics does when a session changes (``config.events``), in the
flow's transaction. Registered in ``AnalyticsConfig.ready``: for every session
event, order 20 (after offers chose the offer shown), move the session's
contribution between rollup rows."""

from __future__ import annotations

from analytics.services import rollup_session_change
from config.events import DomainEvent, subscribe
from surveys.services import SESSION_EVENTS

ROLLUP_ORDER = 20


def rollups_update(event: DomainEvent) -> None:
    if event.after != event.before:
        rollup_session_change(session=event.session, before=event.before, after=event.after)


def register() -> None:
    for name in SESSION_EVENTS:
        subscribe(name, rollups_update, order=ROLLUP_ORDER)
