"""What the apps above register with the outbound machinery, from their
``AppConfig.ready`` (this app imports none of them):

- **expanders**: the task that expands a written event of a type into its
  deliveries (alerts: outcome events into alerts' channels and the host's
  endpoints). The sweeper re-queues an event its task never expanded.
- **audiences**: who receives a kind of message, as ``Recipient``s (alerts:
  the digest's recipients are the email channels of the teams that receive it).
  The writer of the message (analytics' digest) asks by name, so it needs no
  import of the app that knows the people.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from workspaces.models import Workspace

_EXPANDERS: dict[str, Any] = {}


def expander_register(event_types: Iterable[str], task: Any) -> None:
    """``task`` (a Celery task taking the event's primary key) expands events of
    ``event_types``."""
    for event_type in event_types:
        _EXPANDERS[event_type] = task


def expander_for(event_type: str) -> Any | None:
    return _EXPANDERS.get(event_type)


def expanded_types() -> list[str]:
    return sorted(_EXPANDERS)


@dataclass(frozen=True)
class Recipient:
    """One receiver of a message: its delivery ``key`` (unique per event), the
    language to write in, and the email addresses."""

    key: str
    locale: str
    addresses: list[str]


AudienceProvider = Callable[[Workspace], list[Recipient]]
_AUDIENCES: dict[str, AudienceProvider] = {}


def audience_register(name: str, provider: AudienceProvider) -> None:
    _AUDIENCES[name] = provider


def audience(name: str, *, workspace: Workspace) -> list[Recipient]:
    """The recipients of ``name`` in ``workspace`` (none when no app provides it)."""
    provider = _AUDIENCES.get(name)
    return provider(workspace) if provider is not None else []
