"""Reads for alerts, deliveries and webhook endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Prefetch, QuerySet

from alerts.models import (
    Alert,
    AlertStatus,
    Channel,
    ChannelKind,
    DeliveryRoute,
    RoutingRule,
    Team,
    WebhookEndpoint,
    channel_key,
)
from outbound.models import Delivery, OutboxEvent
from outbound.registry import Recipient
from surveys.rules import ROUTING, Conditions
from workspaces.config_cache import ConfigCache
from workspaces.models import Workspace


def alerts_for_inbox(
    *, workspace: Workspace, team_id: int | None = None, status: str | None = None
) -> QuerySet[Alert]:
    queryset = Alert.objects.filter(workspace=workspace).select_related(
        "team", "assignee", "session__response", "session__offer"
    )
    if team_id:
        queryset = queryset.filter(team_id=team_id)
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("-created_at", "-id")


def alert_detail(*, workspace: Workspace, alert_id: int) -> Alert | None:
    return (
        Alert.objects.filter(workspace=workspace, pk=alert_id)
        .select_related("team", "assignee", "session__response", "session__offer", "event")
        .prefetch_related(
            "changes__user",
            Prefetch(
                "routes",
                queryset=DeliveryRoute.objects.select_related(
                    "delivery", "channel"
                ).prefetch_related("delivery__attempt_log"),
            ),
        )
        .first()
    )


def alert_deliveries(alert: Alert) -> list[Delivery]:
    """The deliveries of an alert (one per channel of its team), loaded by
    ``alert_detail``."""
    return sorted((route.delivery for route in alert.routes.all()), key=lambda d: d.pk)


def teams_for_workspace(*, workspace: Workspace) -> QuerySet[Team]:
    return Team.objects.filter(workspace=workspace).order_by("name")


def deliveries_for_workspace(
    *, workspace: Workspace, status: str | None = None
) -> QuerySet[Delivery]:
    queryset = (
        Delivery.objects.filter(workspace=workspace)
        .select_related("event", "route__channel", "route__endpoint")
        .prefetch_related("attempt_log")
    )
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("-created_at", "-id")


def webhook_endpoints_for_workspace(*, workspace: Workspace) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(workspace=workspace).order_by("id")


@dataclass(frozen=True)
class RouteConfig:
    """An active routing rule (with its team) and its conditions, ready to match."""

    rule: RoutingRule
    conditions: Conditions


@dataclass(frozen=True)
class RoutingConfig:
    """A workspace's active routing rules (with teams and conditions), enabled
    channels by team and enabled webhook endpoints: what expanding an event reads."""

    rules: list[RouteConfig]
    channels: dict[int, list[Channel]]
    endpoints: list[WebhookEndpoint]


def _load_routing(workspace: Workspace) -> RoutingConfig:
    channels: dict[int, list[Channel]] = {}
    for channel in Channel.objects.filter(team__workspace=workspace, is_enabled=True):
        channels.setdefault(channel.team_id, []).append(channel)
    return RoutingConfig(
        rules=[
            RouteConfig(rule=rule, conditions=ROUTING.conditions_of(rule))
            for rule in RoutingRule.objects.filter(
                workspace=workspace, is_active=True
            ).select_related("team")
        ],
        channels=channels,
        endpoints=list(WebhookEndpoint.objects.filter(workspace=workspace, is_enabled=True)),
    )


_ROUTING: ConfigCache[RoutingConfig] = ConfigCache(_load_routing)


def routing_config(*, workspace: Workspace) -> RoutingConfig:
    """Cached per configuration version: every change of teams, channels, rules
    or endpoints bumps it (services and admin alike)."""
    return _ROUTING.get(workspace)


def alert_counts(*, workspace: Workspace, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Per team: alerts raised for sessions started in [since, until), and where they
    stand (new, contacted, won back, lost), most alerted team first."""
    rows = (
        Alert.objects.filter(
            workspace=workspace,
            session__created_at__gte=since,
            session__created_at__lt=until,
        )
        .values("team_id", "team__name", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    teams: dict[int, dict[str, Any]] = {}
    for row in rows:
        team = teams.setdefault(
            row["team_id"],
            {"team": row["team__name"], "raised": 0, **{s: 0 for s in AlertStatus.values}},
        )
        team["raised"] += row["n"]
        team[row["status"]] = row["n"]
    return sorted(teams.values(), key=lambda t: (-t["raised"], t["team"]))


def digest_channels(*, workspace: Workspace) -> list[tuple[int, str, list[str]]]:
    """Where the weekly digest goes, one entry per channel: ``(channel id, its
    team's language, addresses)`` for the enabled email channels of the teams with
    ``receives_digest``. Each address once: the first team by name has it, and a
    channel left with no address of its own is left out."""
    channels = (
        Channel.objects.filter(
            team__workspace=workspace,
            team__receives_digest=True,
            kind=ChannelKind.EMAIL,
            is_enabled=True,
        )
        .select_related("team")
        .order_by("team__name", "team_id", "id")
    )
    seen: set[str] = set()
    found: list[tuple[int, str, list[str]]] = []
    for channel in channels:
        addresses = []
        for address in (part.strip() for part in channel.target.split(",")):
            if not address or address.lower() in seen:
                continue
            seen.add(address.lower())
            addresses.append(address)
        if addresses:
            found.append((channel.pk, channel.team.locale or "en", addresses))
    return found


def digest_audience(workspace: Workspace) -> list[Recipient]:
    """The weekly digest's recipients (``digest_channels``) as the outbound
    registry hands them to the digest: each channel's key, language, addresses."""
    return [
        Recipient(key=channel_key(channel_id), locale=locale, addresses=addresses)
        for channel_id, locale, addresses in digest_channels(workspace=workspace)
    ]


def session_alerts(*, session_ids: list[Any]) -> QuerySet[Alert]:
    """The alerts about these sessions, with their team and every change (export)."""
    return (
        Alert.objects.filter(session_id__in=session_ids)
        .select_related("team", "assignee")
        .prefetch_related("changes__user")
        .order_by("created_at", "pk")
    )


def session_outbox_events(*, session_ids: list[Any]) -> QuerySet[OutboxEvent]:
    """The outcome events of these sessions, with their deliveries and every
    attempt at each (export)."""
    return (
        OutboxEvent.objects.filter(subject_id__in=session_ids)
        .prefetch_related(
            Prefetch(
                "deliveries",
                queryset=Delivery.objects.select_related("route")
                .order_by("created_at", "pk")
                .prefetch_related("attempt_log"),
            )
        )
        .order_by("created_at", "pk")
    )
