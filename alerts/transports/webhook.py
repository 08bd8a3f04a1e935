"""Generic signed webhook channel: the alert as JSON, signed like outcome events."""

from __future__ import annotations

import json

from alerts.content import alert_json
from alerts.signing import signed_headers
from alerts.transports import AlertsTransport, alert_and_channel
from outbound.models import Delivery
from outbound.transports.base import TransportError, register
from outbound.transports.http import post_json


@register
class WebhookTransport(AlertsTransport):
    kind = "webhook"

    def send(self, delivery: Delivery) -> int | None:
        alert, channel = alert_and_channel(delivery)
        if channel is None or alert is None:
            raise TransportError("A webhook alert needs a channel and an alert.", permanent=True)
        body = json.dumps(alert_json(alert), separators=(",", ":")).encode()
        message_id = f"{delivery.event.event_id}_a{alert.pk}"
        headers = signed_headers(secret=channel.secret, message_id=message_id, body=body)
        return post_json(channel.target, body, headers)
