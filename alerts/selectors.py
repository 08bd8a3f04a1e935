"""Reads for alerts, deliveries and webhook endpoints."""

from __future__ import annotations

from django.db.models import QuerySet

from alerts.models import Alert, Delivery, Team, WebhookEndpoint
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
        .prefetch_related("changes__user", "deliveries__attempt_log")
        .first()
    )


def teams_for_workspace(*, workspace: Workspace) -> QuerySet[Team]:
    return Team.objects.filter(workspace=workspace).order_by("name")


def deliveries_for_workspace(
    *, workspace: Workspace, status: str | None = None
) -> QuerySet[Delivery]:
    queryset = (
        Delivery.objects.filter(workspace=workspace)
        .select_related("event", "channel", "endpoint")
        .prefetch_related("attempt_log")
    )
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("-created_at", "-id")


def webhook_endpoints_for_workspace(*, workspace: Workspace) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(workspace=workspace).order_by("id")
