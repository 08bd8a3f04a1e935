"""What happened to a subscription after its cancel session: the host posts it
(``POST /api/v1/subscription-events``) or Stripe's webhooks tell it.

The analytics match these events to saved sessions by subscription id (``offers.saves``)
to tell which saves lasted. An event for a subscription that no session names
is accepted and kept: it is matched as soon as a session with that subscription
id is saved (the host may post its billing events without knowing which
subscriptions went through the cancel flow).

Idempotent on (workspace, id): the same id and body again answers with the
stored event (200); the same id with another body is refused (409), since one
id cannot say two things.

Stripe (when the workspace applies outcomes in Stripe and has the webhook's
signing secret): ``customer.subscription.deleted`` is a cancellation;
``customer.subscription.updated`` is read from what changed
(``data.previous_attributes``):

- ``cancel_at_period_end`` turned on, or ``status`` became ``canceled``: cancelled;
- ``cancel_at_period_end`` turned off, or ``status`` back to ``active`` from
  ``past_due``/``unpaid``/``paused``: reactivated;
- ``status`` became ``past_due`` or ``unpaid``: payment_failed;
- ``current_period_end`` moved on with the subscription active: renewed.

Any other update, and any other event type, is acknowledged and ignored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe
from django.db import IntegrityError, transaction

from config.errors import Conflict, ServiceError
from offers.models import SubscriptionEvent, SubscriptionEventSource, SubscriptionEventType
from offers.saves import save_cancellation_record, save_cancellations_refresh
from workspaces.models import Workspace

# The id an erased event is left with: this prefix and a keyed hash of its id.
ERASED_EVENT_PREFIX = "erased_"
STRIPE_EVENT_TYPES = ("customer.subscription.deleted", "customer.subscription.updated")
# How old a signed Stripe delivery may be (stripe-python's default tolerance).
STRIPE_TOLERANCE_SECONDS = 300


@dataclass(frozen=True)
class SubscriptionEventInput:
    id: str
    subscription: str
    type: str
    occurred_at: datetime


def subscription_event_fingerprint(event: SubscriptionEventInput) -> str:
    """What a replay must match: the subscription, the type and the instant."""
    body = {
        "subscription": event.subscription,
        "type": event.type,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(),
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def subscription_event_record(
    *,
    workspace: Workspace,
    event: SubscriptionEventInput,
    source: str = SubscriptionEventSource.API,
) -> tuple[SubscriptionEvent, bool]:
    """Record what happened to a subscription; returns (the event, whether it is new).

    A replay (same id, same body) returns the stored event; the same id with another
    body raises ``Conflict``. Two concurrent posts of one id store it once."""
    if event.type not in SubscriptionEventType.values:
        raise ServiceError(
            f"Unknown event type {event.type!r}.",
            code="validation_error",
            fields={"type": f"one of {', '.join(SubscriptionEventType.values)}"},
        )
    fingerprint = subscription_event_fingerprint(event)
    existing = SubscriptionEvent.objects.filter(workspace=workspace, event_id=event.id).first()
    if existing is None:
        try:
            with transaction.atomic():
                recorded = SubscriptionEvent.objects.create(
                    workspace=workspace,
                    event_id=event.id,
                    subscription_id=event.subscription,
                    type=event.type,
                    occurred_at=event.occurred_at,
                    source=source,
                    request_fingerprint=fingerprint,
                )
                # The saves it ends (offers.saves), with it; a replay records
                # nothing and changes nothing.
                save_cancellation_record(recorded)
                return recorded, True
        except IntegrityError:  # posted at the same moment by another request
            existing = SubscriptionEvent.objects.get(workspace=workspace, event_id=event.id)
    if existing.request_fingerprint != fingerprint:
        raise Conflict(
            "An event with this id was recorded with another subscription, type or time.",
            code="event_id_reused",
            fields={"id": "already used for a different event"},
        )
    return existing, False


def subscription_events_erase(
    *, workspace_id: int, subscription_ids: list[str], pseudonym: Callable[[str], str]
) -> int:
    """Replace the ids of these subscriptions' events (the host chose them and may
    have built them from the customer's id or email) with ``pseudonym(id)``, in the
    caller's transaction. The subscription id, type and time stay: the saves
    figure keeps counting them, as the sessions keep theirs. A later replay under
    the old id records a second copy, which counts the same; erasing again drops
    that copy, as its erased twin is already there. Returns how many."""
    events = list(
        SubscriptionEvent.objects.select_for_update()
        .filter(workspace_id=workspace_id, subscription_id__in=subscription_ids)
        .exclude(event_id__startswith=ERASED_EVENT_PREFIX)
        .order_by("pk")
    )
    erased = {event.pk: ERASED_EVENT_PREFIX + pseudonym(event.event_id) for event in events}
    taken = set(
        SubscriptionEvent.objects.filter(
            workspace_id=workspace_id, event_id__in=set(erased.values())
        ).values_list("event_id", flat=True)
    )
    renamed, twins = [], []
    for event in events:
        if erased[event.pk] in taken:
            twins.append(event.pk)
            continue
        taken.add(erased[event.pk])
        event.event_id = erased[event.pk]
        renamed.append(event)
    if twins:
        SubscriptionEvent.objects.filter(pk__in=twins).delete()
        # A twin has the subscription, type and time of its erased copy, so the
        # saves' first cancellations stay; recounted all the same.
        save_cancellations_refresh(
            workspace_id=workspace_id,
            subscription_ids={event.subscription_id for event in events if event.pk in twins},
        )
    SubscriptionEvent.objects.bulk_update(renamed, ["event_id"], batch_size=500)
    return len(events)


# --- Stripe ---------------------------------------------------------------------------


def _moment(value: Any) -> datetime:
    return datetime.fromtimestamp(int(value), tz=UTC)


def stripe_event_type(event: dict[str, Any]) -> str | None:
    """The subscription event a Stripe event stands for (None: nothing to record)."""
    kind = event.get("type")
    data = event.get("data") or {}
    subscription = data.get("object") or {}
    if kind == "customer.subscription.deleted":
        return SubscriptionEventType.CANCELLED
    if kind != "customer.subscription.updated":
        return None
    before = data.get("previous_attributes") or {}
    status = subscription.get("status")
    if "cancel_at_period_end" in before:
        if subscription.get("cancel_at_period_end") and not before["cancel_at_period_end"]:
            return SubscriptionEventType.CANCELLED
        if not subscription.get("cancel_at_period_end") and before["cancel_at_period_end"]:
            return SubscriptionEventType.REACTIVATED
    if "status" in before and before["status"] != status:
        if status == "canceled":
            return SubscriptionEventType.CANCELLED
        if status in ("past_due", "unpaid"):
            return SubscriptionEventType.PAYMENT_FAILED
        if status == "active" and before["status"] in ("past_due", "unpaid", "paused"):
            return SubscriptionEventType.REACTIVATED
    moved = before.get("current_period_end")
    now_ends = subscription.get("current_period_end")
    if moved and now_ends and int(now_ends) > int(moved) and status in ("active", "trialing"):
        return SubscriptionEventType.RENEWED
    return None


def stripe_webhook_receive(
    *, workspace: Workspace, payload: bytes, signature: str
) -> SubscriptionEvent | None:
    """Verify a Stripe webhook with the workspace's signing secret (stripe-python's
    ``Webhook.construct_event``) and record the subscription event it stands for.
    Returns None for an event that says nothing the analytics count. A bad or stale
    signature is a ``ServiceError`` (400); a redelivery is recorded once."""
    if not workspace.stripe_enabled or not workspace.stripe_webhook_secret:
        raise ServiceError(
            "This workspace does not take Stripe webhooks: turn on Stripe and set the "
            "webhook signing secret in its settings.",
            code="stripe_webhooks_off",
            status_code=404,
        )
    try:
        verified = stripe.Webhook.construct_event(
            payload,
            signature,
            workspace.stripe_webhook_secret,
            tolerance=STRIPE_TOLERANCE_SECONDS,
        )
    except stripe.SignatureVerificationError:
        raise ServiceError(
            "The Stripe-Signature header does not match this body and the workspace's "
            "signing secret (or it is too old).",
            code="bad_signature",
            fields={"Stripe-Signature": "does not verify"},
        ) from None
    except ValueError:
        raise ServiceError(
            "The body is not a Stripe event (JSON).", code="malformed_event"
        ) from None
    event = verified.to_dict()
    kind = stripe_event_type(event)
    if kind is None:
        return None
    subscription = (event.get("data") or {}).get("object") or {}
    subscription_id = str(subscription.get("id") or "")
    event_id = str(event.get("id") or "")
    if not subscription_id or not event_id or "created" not in event:
        raise ServiceError(
            "The Stripe event has no id, creation time or subscription.",
            code="malformed_event",
        )
    recorded, _created = subscription_event_record(
        workspace=workspace,
        event=SubscriptionEventInput(
            id=event_id[:200],
            subscription=subscription_id[:200],
            type=kind,
            occurred_at=_moment(event["created"]),
        ),
        source=SubscriptionEventSource.STRIPE,
    )
    return recorded
