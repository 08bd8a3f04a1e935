"""The weekly digest's deliveries: one event, one delivery per channel.

``analytics.digest`` claims a workspace's week and, in that same transaction,
calls ``digest_deliveries_create`` with the emails already written. The event is
written expanded (``dispatched_at`` set: there is nothing to route), and the
unique key (event, channel) holds each channel to one delivery of it. Nothing is
sent here: the caller sends the first tries after its transaction commits
(``deliveries_send``), and if it dies first, ``deliveries_sweep`` finds the rows
pending. From there a digest is sent, retried, recorded and dead like an alert.
Once every channel is sent, ``digest_bodies_drop`` keeps only the subjects.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db import transaction

from alerts.models import DIGEST_EVENT, Delivery, OutboxEvent
from alerts.services.outbox import _delivery
from alerts.transports.digest import DIGEST_KIND
from workspaces.models import Workspace


def digest_deliveries_create(
    *,
    workspace: Workspace,
    week_start: date,
    messages: dict[str, dict[str, str]],
    channels: list[tuple[int, str, list[str]]],
    now: datetime,
) -> list[Delivery]:
    """Write the digest's event (the emails frozen in its payload: ``messages``
    by language, each with ``subject``, ``text`` and ``html``) and one pending
    delivery per channel of ``channels`` (``(channel id, language, addresses)``).
    Call inside the transaction that claims the week."""
    payload: dict[str, Any] = {
        "type": DIGEST_EVENT,
        "week_start": week_start.isoformat(),
        "messages": messages,
        "recipients": {
            str(channel_id): {"locale": locale, "to": addresses}
            for channel_id, locale, addresses in channels
        },
    }
    event = OutboxEvent.objects.create(
        workspace=workspace,
        session=None,
        event_type=DIGEST_EVENT,
        payload=payload,
        created_at=now,
        dispatched_at=now,
    )
    deliveries = [
        _delivery(event, kind=DIGEST_KIND, now=now, channel_id=channel_id)
        for channel_id, _locale, _addresses in channels
    ]
    Delivery.objects.bulk_create(deliveries)
    return deliveries


def digest_bodies_drop(*, event_id: int) -> None:
    """Once every channel has its copy, drop the frozen bodies (they quote
    customers' words); the subjects stay as the record of what was sent."""
    with transaction.atomic():
        event = (
            OutboxEvent.objects.select_for_update()
            .filter(pk=event_id, event_type=DIGEST_EVENT)
            .first()
        )
        if event is None:
            return
        messages = event.payload.get("messages", {})
        event.payload["messages"] = {
            locale: {"subject": message.get("subject", "")} for locale, message in messages.items()
        }
        event.save(update_fields=["payload"])
