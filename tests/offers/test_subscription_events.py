"""What happened to subscriptions later: the host's API and Stripe's webhooks."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import stripe
from rest_framework.test import APIClient

from offers.models import SubscriptionEvent
from offers.subscription_events import stripe_event_type
from tests.factories import make_api_key, make_workspace
from workspaces.models import Workspace

EVENT = {
    "id": "evt_1001",
    "subscription": "sub_123",
    "type": "cancelled",
    "occurred_at": "2026-03-01T10:00:00Z",
}
SIGNING_SECRET = "whsec_test_0123456789abcdef"


def test_an_event_is_recorded_and_shown_back(api: APIClient, workspace: Workspace) -> None:
    response = api.post("/api/v1/subscription-events", EVENT, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"] == "evt_1001"
    assert body["subscription"] == "sub_123"
    assert body["type"] == "cancelled"
    assert body["source"] == "api"
    stored = SubscriptionEvent.objects.get()
    assert stored.workspace == workspace
    assert stored.subscription_id == "sub_123"
    assert stored.occurred_at.isoformat() == "2026-03-01T10:00:00+00:00"


def test_replaying_the_same_event_records_it_once(api: APIClient) -> None:
    first = api.post("/api/v1/subscription-events", EVENT, format="json")
    again = api.post("/api/v1/subscription-events", EVENT, format="json")
    # The same instant written in another zone is the same event.
    shifted = api.post(
        "/api/v1/subscription-events",
        {**EVENT, "occurred_at": "2026-03-01T18:00:00+08:00"},
        format="json",
    )

    assert first.status_code == 201
    assert again.status_code == 200
    assert shifted.status_code == 200
    assert again.json() == first.json()
    assert SubscriptionEvent.objects.count() == 1


@pytest.mark.parametrize(
    "change",
    [{"type": "renewed"}, {"subscription": "sub_999"}, {"occurred_at": "2026-03-02T10:00:00Z"}],
)
def test_the_same_id_with_another_body_is_a_conflict(api: APIClient, change: dict) -> None:
    api.post("/api/v1/subscription-events", EVENT, format="json")

    response = api.post("/api/v1/subscription-events", {**EVENT, **change}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "event_id_reused"
    assert SubscriptionEvent.objects.get().type == "cancelled"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**EVENT, "type": "paused"}, "type"),
        ({**EVENT, "occurred_at": "yesterday"}, "occurred_at"),
        ({**EVENT, "occurred_at": "9999-01-01T00:00:00Z"}, "occurred_at"),
        ({k: v for k, v in EVENT.items() if k != "id"}, "id"),
        ({**EVENT, "subscription": ""}, "subscription"),
        ({**EVENT, "id": "x" * 201}, "id"),
    ],
)
def test_bad_input_is_400_naming_the_field(api: APIClient, body: dict, field: str) -> None:
    response = api.post("/api/v1/subscription-events", body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert not SubscriptionEvent.objects.exists()


def test_events_need_an_api_key_and_stay_in_their_workspace(
    api: APIClient, anon_api: APIClient, workspace: Workspace
) -> None:
    assert anon_api.post("/api/v1/subscription-events", EVENT, format="json").status_code == 401
    other = make_workspace()
    other_api = APIClient()
    other_api.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(other)}")

    # The same id in two workspaces is two events, not a conflict.
    assert api.post("/api/v1/subscription-events", EVENT, format="json").status_code == 201
    changed = {**EVENT, "type": "renewed"}
    assert other_api.post("/api/v1/subscription-events", changed, format="json").status_code == 201
    assert SubscriptionEvent.objects.get(workspace=workspace).type == "cancelled"
    assert SubscriptionEvent.objects.get(workspace=other).type == "renewed"


# --- Stripe ---------------------------------------------------------------------------


@pytest.fixture
def stripe_workspace(workspace: Workspace) -> Workspace:
    workspace.stripe_enabled = True
    workspace.stripe_secret_key = "sk_test_123"
    workspace.stripe_webhook_secret = SIGNING_SECRET
    workspace.save()
    return workspace


def stripe_event(kind: str, subscription: dict[str, Any], before: dict | None = None) -> dict:
    data: dict[str, Any] = {"object": {"id": "sub_123", "object": "subscription", **subscription}}
    if before is not None:
        data["previous_attributes"] = before
    return {
        "id": "evt_stripe_1",
        "object": "event",
        "type": kind,
        "created": 1767225600,  # 2026-01-01T00:00:00Z
        "data": data,
    }


def post_signed(
    client: APIClient, workspace: Workspace, event: dict, secret: str = SIGNING_SECRET
) -> Any:
    payload = json.dumps(event)
    timestamp = int(time.time())
    signature = stripe.WebhookSignature._compute_signature(f"{timestamp}.{payload}", secret)
    return client.post(
        f"/api/v1/stripe/webhooks/{workspace.public_id}",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=f"t={timestamp},{stripe.WebhookSignature.EXPECTED_SCHEME}={signature}",
    )


def test_a_signed_deletion_is_recorded_as_a_cancellation(
    anon_api: APIClient, stripe_workspace: Workspace
) -> None:
    event = stripe_event("customer.subscription.deleted", {"status": "canceled"})

    response = post_signed(anon_api, stripe_workspace, event)
    again = post_signed(anon_api, stripe_workspace, event)  # Stripe redelivers

    assert response.status_code == 200, response.content
    assert response.json()["recorded"]["type"] == "cancelled"
    assert again.status_code == 200
    stored = SubscriptionEvent.objects.get()
    assert (stored.event_id, stored.subscription_id, stored.type, stored.source) == (
        "evt_stripe_1",
        "sub_123",
        "cancelled",
        "stripe",
    )
    assert stored.occurred_at.isoformat() == "2026-01-01T00:00:00+00:00"


def test_a_bad_signature_is_refused_and_nothing_recorded(
    anon_api: APIClient, stripe_workspace: Workspace
) -> None:
    event = stripe_event("customer.subscription.deleted", {"status": "canceled"})

    wrong = post_signed(anon_api, stripe_workspace, event, secret="whsec_someone_else")
    missing = anon_api.post(
        f"/api/v1/stripe/webhooks/{stripe_workspace.public_id}",
        data=json.dumps(event),
        content_type="application/json",
    )

    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "bad_signature"
    assert missing.status_code == 400
    assert not SubscriptionEvent.objects.exists()


def test_a_workspace_without_stripe_webhooks_is_404(
    anon_api: APIClient, workspace: Workspace
) -> None:
    event = stripe_event("customer.subscription.deleted", {"status": "canceled"})

    assert post_signed(anon_api, workspace, event).status_code == 404
    response = anon_api.post(
        "/api/v1/stripe/webhooks/ws_nobody", data="{}", content_type="application/json"
    )
    assert response.status_code == 404


def test_unknown_types_and_quiet_updates_are_acknowledged_and_ignored(
    anon_api: APIClient, stripe_workspace: Workspace
) -> None:
    invoice = stripe_event("invoice.paid", {})
    quiet = stripe_event(
        "customer.subscription.updated", {"status": "active"}, before={"metadata": {}}
    )

    for event in (invoice, quiet):
        response = post_signed(anon_api, stripe_workspace, event)
        assert response.status_code == 200, response.content
        assert response.json() == {"received": True, "recorded": None}
    assert not SubscriptionEvent.objects.exists()


@pytest.mark.parametrize(
    ("subscription", "before", "kind"),
    [
        ({"cancel_at_period_end": True}, {"cancel_at_period_end": False}, "cancelled"),
        ({"cancel_at_period_end": False}, {"cancel_at_period_end": True}, "reactivated"),
        ({"status": "past_due"}, {"status": "active"}, "payment_failed"),
        ({"status": "active"}, {"status": "past_due"}, "reactivated"),
        ({"status": "canceled"}, {"status": "active"}, "cancelled"),
        (
            {"status": "active", "current_period_end": 1769904000},
            {"current_period_end": 1767225600},
            "renewed",
        ),
        ({"status": "active"}, {"items": {}}, None),
    ],
)
def test_what_an_update_stands_for(subscription: dict, before: dict, kind: str | None) -> None:
    event = stripe_event("customer.subscription.updated", subscription, before=before)
    assert stripe_event_type(event) == kind


def test_a_signed_update_is_recorded(anon_api: APIClient, stripe_workspace: Workspace) -> None:
    event = stripe_event(
        "customer.subscription.updated", {"status": "past_due"}, before={"status": "active"}
    )

    response = post_signed(anon_api, stripe_workspace, event)

    assert response.status_code == 200
    assert SubscriptionEvent.objects.get().type == "payment_failed"
