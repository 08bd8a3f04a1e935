"""Generic signed webhook channel: the alert as JSON, signed like outcome events."""

from __future__ import annotations

import json

from alerts.content import alert_json
from alerts.models import Delivery
from alerts.signing import signed_headers
from alerts.transports.base import ALERT_RELATED, Transport, TransportError, register
from alerts.transports.http import post_json


@register
class WebhookTransport(Transport):
    kind = "webhook"
    related = ALERT_RELATED

    def send(self, delivery: Delivery) -> int | None:
        channel, alert = delivery.channel, delivery.alert
        if channel is None or alert is None:
            raise TransportError("A webhook alert needs a channel and an alert.", permanent=True)
        body = json.dumps(alert_json(alert), separators=(",", ":")).encode()
        message_id = f"{delivery.event.event_id}_a{alert.pk}"
        headers = signed_headers(secret=channel.secret, message_id=message_id, body=body)
        return post_json(channel.target, body, headers)
