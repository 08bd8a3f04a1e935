"""Outcome events to the host's own endpoint (Standard Webhooks). The
``webhook-id`` is the event's id, the same on every retry."""

from __future__ import annotations

import json

from alerts.signing import signed_headers
from alerts.transports import AlertsTransport, endpoint_of
from outbound.models import Delivery
from outbound.transports.base import TransportError, register
from outbound.transports.http import post_json


@register
class EndpointTransport(AlertsTransport):
    kind = "endpoint"
    related = ("event", "route__endpoint")

    def send(self, delivery: Delivery) -> int | None:
        endpoint = endpoint_of(delivery)
        if endpoint is None:
            raise TransportError("An outcome event needs an endpoint.", permanent=True)
        if not endpoint.is_enabled:
            raise TransportError(
                f"The endpoint is disabled ({endpoint.disabled_reason or 'by a member'}).",
                permanent=True,
            )
        body = json.dumps(delivery.event.payload, separators=(",", ":")).encode()
        headers = signed_headers(
            secret=endpoint.secret, message_id=delivery.event.event_id, body=body
        )
        return post_json(endpoint.url, body, headers)
