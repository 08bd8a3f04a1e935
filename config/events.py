"""Domain events: how a lower app tells the higher ones what happened.

A lower app publishes an event inside the transaction of its change; each
higher app subscribes in its ``AppConfig.ready``. The handlers run at once, in
the order they state (lowest ``order`` first; handlers of equal order in the
order they subscribed), in the publisher's transaction: when one raises, the
exception reaches the publisher and the whole change rolls back. The publisher
names none of its subscribers, and this module knows no app.

Events in use (publisher: name, subscribers in order):

- workspaces: ``workspace.created`` -> surveys (the default survey)
- surveys: ``session.opened``, ``session.answered``, ``session.completed``,
  ``session.abandoned`` (the transitions), ``session.relabelled`` and
  ``session.locale_changed`` (changes to a session that move its figures)
  -> offers (the offer shown, the terms accepted), analytics (rollups),
  alerts (the outbox), offers (billing and confirmation).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Handler = Callable[["DomainEvent"], None]


@dataclass
class DomainEvent:
    """One change, as the subscribers see it.

    ``session``, ``before`` and ``after`` (snapshots; ``before`` is None for a
    session just made) are set for session events; ``workspace`` for workspace
    events. ``data`` carries what the change was asked with (the months of a
    pause). A subscriber that changes the session during the event names the
    fields it changed in ``session_fields`` (written with the publisher's own in
    one statement, by the publisher's subscriber; the list holds what is not
    written yet) and refreshes ``after``; what one subscriber records
    for a later one (the outbox row) goes in ``records``.
    """

    name: str
    workspace_id: int
    at: datetime
    session: Any = None
    before: Any = None
    after: Any = None
    workspace: Any = None
    data: dict[str, Any] = field(default_factory=dict)
    session_fields: list[str] = field(default_factory=list)
    records: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Subscription:
    name: str
    order: int
    handler: Handler
    key: str


_subscriptions: dict[str, list[Subscription]] = {}


def subscribe(name: str, handler: Handler, *, order: int) -> None:
    """Run ``handler`` for every ``name`` event, at position ``order``.

    Subscribing the same handler again (``ready`` can run twice in tests) keeps
    one subscription."""
    key = f"{handler.__module__}.{handler.__qualname__}"
    current = _subscriptions.setdefault(name, [])
    if any(s.key == key for s in current):
        return
    current.append(Subscription(name=name, order=order, handler=handler, key=key))
    current.sort(key=lambda s: s.order)  # stable: equal orders keep their arrival order


def subscribers(name: str) -> list[str]:
    """The handlers of ``name``, in the order they run (``module.function``)."""
    return [s.key for s in _subscriptions.get(name, [])]


def publish(event: DomainEvent) -> DomainEvent:
    """Run the event's handlers now, in order, in the caller's transaction."""
    for subscription in tuple(_subscriptions.get(event.name, ())):
        subscription.handler(event)
    return event


def unsubscribe(name: str, handler: Handler) -> None:
    """Remove a handler (for tests)."""
    key = f"{handler.__module__}.{handler.__qualname__}"
    _subscriptions[name] = [s for s in _subscriptions.get(name, []) if s.key != key]
