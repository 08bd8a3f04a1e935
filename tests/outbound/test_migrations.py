"""Moving the outbound records out of alerts (alerts 0004-0005, outbound 0001,
analytics 0007) keeps every row: undone, the links go back onto the delivery
columns they came from; done again, each delivery has its key and alerts' route
again, and each event its session as subject. The tables are the same ones
throughout (``db_table``), so nothing is copied."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from alerts.models import Alert, Channel, DeliveryRoute, Team, WebhookEndpoint
from outbound.models import Delivery, DeliveryAttempt, OutboxEvent
from tests.factories import make_session, make_workspace

pytestmark = pytest.mark.django_db(transaction=True)


def _rows() -> dict[str, Any]:
    workspace = make_workspace()
    session = make_session(workspace)
    team = Team.objects.create(workspace=workspace, name="Support")
    channel = Channel.objects.create(team=team, kind="email", target="s@example.com")
    endpoint = WebhookEndpoint.objects.create(workspace=workspace, url="https://h.example.com")
    now = timezone.now()
    event = OutboxEvent.objects.create(
        workspace=workspace,
        subject_id=session.pk,
        event_type="session.completed",
        payload={"data": {}},
        created_at=now,
        dispatched_at=now,
    )
    digest = OutboxEvent.objects.create(
        workspace=workspace, event_type="digest.weekly", payload={}, created_at=now
    )
    alert = Alert.objects.create(
        workspace=workspace, session=session, team=team, event=event, risk_score=50, created_at=now
    )

    def delivery(event: OutboxEvent, kind: str, key: str) -> Delivery:
        return Delivery.objects.create(
            workspace=workspace,
            event=event,
            kind=kind,
            key=key,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )

    to_channel = delivery(event, "email", f"channel:{channel.pk}")
    DeliveryRoute.objects.create(delivery=to_channel, alert=alert, channel=channel)
    to_endpoint = delivery(event, "endpoint", f"endpoint:{endpoint.pk}")
    DeliveryRoute.objects.create(delivery=to_endpoint, endpoint=endpoint)
    confirmation = delivery(event, "customer_email", "customer")
    to_digest = delivery(digest, "digest", f"channel:{channel.pk}")
    DeliveryAttempt.objects.create(
        delivery=to_channel, number=1, started_at=now, duration_ms=5, ok=True
    )
    return {
        "session": session,
        "alert": alert,
        "channel": channel,
        "endpoint": endpoint,
        "event": event,
        "ids": [to_channel.pk, to_endpoint.pk, confirmation.pk, to_digest.pk],
    }


def _snapshot() -> dict[str, Any]:
    routes = {
        r.delivery_id: (r.alert_id, r.channel_id, r.endpoint_id)
        for r in DeliveryRoute.objects.all()
    }
    return {
        "deliveries": sorted(
            (d.pk, d.event_id, d.kind, d.key, routes.get(d.pk)) for d in Delivery.objects.all()
        ),
        "events": sorted(OutboxEvent.objects.values_list("pk", "subject_id", "event_type")),
        "attempts": sorted(DeliveryAttempt.objects.values_list("pk", "delivery_id")),
        "alerts": sorted(Alert.objects.values_list("pk", "event_id")),
    }


def test_undoing_and_redoing_the_move_keeps_every_row_and_link() -> None:
    made = _rows()
    before = _snapshot()
    try:
        call_command("migrate", "alerts", "0003", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, kind, alert_id, channel_id, endpoint_id FROM alerts_delivery "
                "ORDER BY id"
            )
            columns = cursor.fetchall()
            cursor.execute("SELECT session_id FROM alerts_outboxevent ORDER BY id")
            sessions = [row[0] for row in cursor.fetchall()]
        alert, channel, endpoint = made["alert"].pk, made["channel"].pk, made["endpoint"].pk
        to_channel, to_endpoint, confirmation, to_digest = made["ids"]
        assert columns == [
            (to_channel, "email", alert, channel, None),
            (to_endpoint, "endpoint", None, None, endpoint),
            (confirmation, "customer_email", None, None, None),
            (to_digest, "digest", None, channel, None),
        ]
        assert [str(s).replace("-", "") if s else None for s in sessions] == [
            made["session"].pk.hex,
            None,
        ]
    finally:
        call_command("migrate", verbosity=0)
    after = _snapshot()
    # Before the move a delivery had no key; redone, the keys are made from the
    # links (channel, endpoint), so only a confirmation's is not given back: an old
    # confirmation stays keyless, as every one written before the move.
    confirmation = made["ids"][2]
    before["deliveries"] = [
        (pk, event, kind, "" if pk == confirmation else key, route)
        for pk, event, kind, key, route in before["deliveries"]
    ]
    assert after == before
