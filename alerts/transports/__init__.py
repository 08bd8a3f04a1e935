"""Alerts' transports, one module per kind (registered with
``outbound.transports`` by ``AlertsConfig.ready``): email, Slack and the signed
webhook for a team's channels, ``endpoint`` for the host's outcome events.

Each reads what alerts linked to the delivery (``DeliveryRoute``: the alert and
channel, or the endpoint), loaded with the row when a worker claims it, and a
``disable`` refusal (a 410) switches that channel or endpoint off.
"""

from __future__ import annotations

from typing import ClassVar

from alerts.models import Alert, Channel, DeliveryRoute, WebhookEndpoint
from outbound.models import Delivery
from outbound.transports.base import Transport
from workspaces.services import workspace_config_bump

# What an alert's channels read while sending: the route's alert, its team,
# session and answer, and the channel.
ALERT_RELATED = (
    "event",
    "route__channel",
    "route__alert__team",
    "route__alert__workspace",
    "route__alert__session__response",
    "route__alert__session__offer",
)


def route_of(delivery: Delivery) -> DeliveryRoute | None:
    try:
        return delivery.route
    except DeliveryRoute.DoesNotExist:
        return None


def alert_and_channel(delivery: Delivery) -> tuple[Alert | None, Channel | None]:
    route = route_of(delivery)
    if route is None:
        return None, None
    alert = route.alert
    if alert is not None:
        alert.event = delivery.event  # the same event, loaded already: no query
    return alert, route.channel


def endpoint_of(delivery: Delivery) -> WebhookEndpoint | None:
    route = route_of(delivery)
    return route.endpoint if route is not None else None


class AlertsTransport(Transport):
    """What alerts' transports share: where a delivery goes, and switching it
    off after a refusal that says so."""

    related: ClassVar[tuple[str, ...]] = ALERT_RELATED

    def target(self, delivery: Delivery) -> str:
        route = route_of(delivery)
        if route is None:
            return ""
        if route.channel is not None:
            return route.channel.target
        if route.endpoint is not None:
            return route.endpoint.url
        return ""

    def disable(self, delivery: Delivery, *, reason: str) -> None:
        route = route_of(delivery)
        if route is None:
            return
        workspace_config_bump(workspace_id=delivery.workspace_id)
        if route.endpoint_id:
            WebhookEndpoint.objects.filter(pk=route.endpoint_id).update(
                is_enabled=False, disabled_reason=reason[:300]
            )
        if route.channel_id:
            Channel.objects.filter(pk=route.channel_id).update(
                is_enabled=False, disabled_reason=reason[:300]
            )


def register() -> None:
    """Importing the modules registers the kinds."""
    from alerts.transports import email, endpoint, slack, webhook  # noqa: F401
