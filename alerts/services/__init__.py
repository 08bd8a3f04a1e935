"""Writes for alerts, outcome webhooks and their delivery, by concern:

- ``outbox``: the flow records an outcome as an ``OutboxEvent`` in its own
  transaction; ``outbox_dispatch`` expands it once into alerts and deliveries;
- ``routing``: which teams hear about a session (the shared rule engine);
- ``endpoints``: the host's webhook endpoints;
- ``inbox``: members work their alerts;
- ``defaults``: a new workspace's teams and rules;
- ``erasure``: a customer's personal data erased from the outbound side.

Sending (claiming, attempts, retries, dead letters, the sweeper) is
``outbound.services``'; the guarantees are in DESIGN.md ("Outbound"). Every
public name stays importable from ``alerts.services``.
"""

from __future__ import annotations

from alerts.services.defaults import DEFAULT_TEAMS, RuleSpec, routing_defaults_create
from alerts.services.endpoints import (
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_url_validate,
)
from alerts.services.erasure import (
    CANCELLED_FOR_ERASURE,
    ERASED_ERROR,
    MessagesErased,
    session_messages_erase,
)
from alerts.services.inbox import alert_update
from alerts.services.outbox import DISPATCH_BATCH, outbox_dispatch, session_change_record
from alerts.services.routing import routing_match, routing_rule_validate

__all__ = [
    "CANCELLED_FOR_ERASURE",
    "DEFAULT_TEAMS",
    "DISPATCH_BATCH",
    "ERASED_ERROR",
    "MessagesErased",
    "RuleSpec",
    "alert_update",
    "outbox_dispatch",
    "routing_defaults_create",
    "routing_match",
    "routing_rule_validate",
    "session_change_record",
    "session_messages_erase",
    "webhook_endpoint_create",
    "webhook_endpoint_delete",
    "webhook_url_validate",
]
