from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from alerts.models import Channel, RoutingRule, Team, WebhookEndpoint
from tests.receivers import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver.start()
    yield server
    server.stop()


@pytest.fixture
def outbound(settings: Any) -> Any:
    """Outbound tests call receivers on loopback, with quick retries."""
    settings.ALLOW_PRIVATE_WEBHOOK_TARGETS = True
    settings.DELIVERY_RETRY_DELAYS = [0, 0, 0]
    settings.OUTBOUND_TIMEOUT_SECONDS = 5
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return settings


def make_team(workspace: Any, name: str = "Support", **channels: str) -> Team:
    team = Team.objects.create(workspace=workspace, name=name)
    for kind, target in channels.items():
        Channel.objects.create(team=team, kind=kind, target=target)
    return team


def make_rule(workspace: Any, team: Team, **conditions: Any) -> RoutingRule:
    conditions.setdefault("name", f"rule for {team.name}")
    return RoutingRule.objects.create(workspace=workspace, team=team, **conditions)


def make_endpoint(workspace: Any, url: str, events: list[str] | None = None) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(workspace=workspace, url=url, events=events or [])
