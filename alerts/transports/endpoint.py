"""Outcome events to the host's own endpoint (Standard Webhooks). The
``webhook-id`` is the event's id, the same on every retry."""

from __future__ import annotations

import json

from alerts.models import Delivery
from alerts.signing import signed_headers
from alerts.transports.base import Transport, TransportError, register
from alerts.transports.http import post_json


@register
class EndpointTransport(Transport):
    kind = "endpoint"
    related = ("event", "endpoint")

    def send(self, delivery: Delivery) -> int | None:
        endpoint = delivery.endpoint
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
