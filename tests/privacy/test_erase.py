from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from typing import Any
from unittest.mock import ANY

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.utils import timezone

from alerts.models import Alert, AlertChange
from alerts.services import outbox_dispatch
from offers.models import SubscriptionEvent
from outbound.models import Delivery, DeliveryStatus, OutboxEvent
from outbound.services import delivery_attempt
from privacy.models import ErasureRecord
from privacy.services import customer_pseudonym
from surveys.models import CancelSession, Response
from tests.factories import make_api_key
from tests.privacy.conftest import (
    CUSTOMER,
    EMAIL,
    FRAGMENTS,
    NAME,
    NOTE,
    PERSONAL,
    WORDS_SAVED,
    Held,
    database_text,
)

pytestmark = pytest.mark.django_db(transaction=False)

PERIOD = {"from": (timezone.now() - timedelta(days=2)).date().isoformat()}


def figures(api: Any) -> dict[str, Any]:
    """What the dashboards show for the period: funnel, reasons, offers, trends."""
    period = {**PERIOD, "to": (timezone.now() + timedelta(days=1)).date().isoformat()}
    return {
        name: api.get(f"/api/v1/analytics/{name}", period).json()
        for name in ("funnel", "reasons", "offers", "trends")
    }


def rollups_check() -> str:
    """What ``rebuild_rollups --check`` reports when it finds a difference ("" if none)."""
    out = StringIO()
    try:
        call_command("rebuild_rollups", "--check", stdout=out)
    except SystemExit:
        return out.getvalue()
    return ""


def rows_of(session: CancelSession) -> dict[str, Any]:
    """A session, its answer, alerts, events and deliveries, as stored."""
    session.refresh_from_db()
    return {
        "session": CancelSession.objects.filter(pk=session.pk).values().get(),
        "answer": list(Response.objects.filter(session=session).values()),
        "alerts": list(Alert.objects.filter(session=session).values()),
        "events": list(OutboxEvent.objects.filter(subject_id=session.pk).values()),
        "deliveries": list(Delivery.objects.filter(event__subject_id=session.pk).values()),
        "log": list(
            LogEntry.objects.filter(object_id=str(session.pk)).values(
                "object_repr", "change_message"
            )
        ),
    }


def test_erasure_leaves_no_trace_of_the_customer_in_any_table(held: Held, api: Any) -> None:
    before = database_text()
    for fragment in FRAGMENTS:
        assert fragment in before, fragment  # the fixture really holds them
    untouched = [rows_of(held.neighbour), rows_of(held.namesake)]

    response = api.delete(f"/api/v1/customers/{CUSTOMER}")

    assert response.status_code == 200, response.content
    pseudonym = customer_pseudonym(workspace_id=held.workspace.pk, customer_id=CUSTOMER)
    body = response.json()
    assert body["customer"] == pseudonym
    assert body["counts"] == {
        "sessions": 2,
        "answers": 2,
        "outbox_events": 2,
        "alerts": 1,
        "inbox_notes": 2,  # the alert's notes and the change's note
        "deliveries": 4,  # alert email, host webhook, 2 confirmation emails
        "delivery_attempts": 3,  # the pending one has not been tried
        "deliveries_cancelled": 1,  # the confirmation not sent yet
        "admin_log_entries": 3,
        "subscription_events": 1,  # its id was built from the customer's
    }
    after = database_text()
    for fragment in [*PERSONAL, *FRAGMENTS]:
        if fragment == CUSTOMER or fragment in CUSTOMER:
            continue
        assert fragment not in after, fragment
        assert json.dumps(fragment)[1:-1] not in after, fragment  # escaped in JSON
    # The id is left only where the other workspace's customer of the same id is.
    namesake = str(held.namesake.pk)
    for line in after.splitlines():
        if CUSTOMER in line:
            assert namesake in line or namesake.replace("-", "") in line, line
    # Nobody else's rows changed.
    assert [rows_of(held.neighbour), rows_of(held.namesake)] == untouched
    # The customer's later event keeps counting under its erased id; the neighbour's
    # keeps its own.
    events = dict(SubscriptionEvent.objects.values_list("subscription_id", "event_id"))
    assert events["sub_N1"] == "churn-nel"
    assert events["sub_A1"].startswith("erased_") and CUSTOMER not in events["sub_A1"]


def test_sessions_stay_anonymised_and_figures_do_not_move(held: Held, api: Any) -> None:
    shown = figures(api)
    assert shown["funnel"]["started"] == 3

    assert api.delete(f"/api/v1/customers/{CUSTOMER}").status_code == 200

    assert figures(api) == shown
    assert rollups_check() == ""
    pseudonym = customer_pseudonym(workspace_id=held.workspace.pk, customer_id=CUSTOMER)
    sessions = CancelSession.objects.filter(workspace=held.workspace, customer_id=pseudonym)
    assert sessions.count() == 2
    for session in sessions.select_related("response"):
        assert (session.customer_email, session.customer_name, session.return_url) == ("", "", "")
        assert session.personal_data_erased_at is not None
        assert session.response.text == ""
        assert session.response.category_id in ("price", "product_quality")
        # The billing reference a pending Stripe outcome needs is kept.
        assert session.metadata == {"stripe_subscription_id": "sub_stripe_1"}
    saved = sessions.get(pk=held.saved.pk)
    assert (saved.outcome, saved.offer.name, saved.mrr_cents) == (
        "saved",
        "30% off for 3 months",
        4900,
    )
    # The answer no longer shows among the customers' words.
    words = api.get("/api/v1/analytics/verbatims", PERIOD).json()
    assert WORDS_SAVED not in json.dumps(words)


def test_waiting_deliveries_go_out_erased_and_the_customer_email_is_cancelled(
    held: Held, api: Any, django_capture_on_commit_callbacks: Any
) -> None:
    webhook = Delivery.objects.get(event__subject_id=held.saved.pk, kind="endpoint")
    assert webhook.status == DeliveryStatus.RETRY  # the host answered 500 the first time
    confirmation = Delivery.objects.get(event__subject_id=held.cancelled.pk, kind="customer_email")
    assert confirmation.status == DeliveryStatus.PENDING

    assert api.delete(f"/api/v1/customers/{CUSTOMER}").status_code == 200

    later = timezone.now() + timedelta(hours=2)
    assert delivery_attempt(delivery_id=webhook.pk, now=later) == DeliveryStatus.SENT
    sent = held.receiver.requests[-1].json()["data"]
    pseudonym = customer_pseudonym(workspace_id=held.workspace.pk, customer_id=CUSTOMER)
    assert sent["customer"] == {"id": pseudonym, "email": "", "name": ""}
    assert sent["answer"]["text"] == "" and sent["answer"]["category"] == "price"
    assert sent["outcome"] == "saved" and sent["offer"]["accepted"] is True
    confirmation.refresh_from_db()
    assert confirmation.status == DeliveryStatus.DEAD
    assert "erased" in confirmation.last_error
    assert delivery_attempt(delivery_id=confirmation.pk, now=later) is None
    # The cancelled session's event, expanded only now, alerts with the erased data.
    with django_capture_on_commit_callbacks(execute=True):
        outbox_dispatch(event_id=OutboxEvent.objects.get(subject_id=held.cancelled.pk).pk)
    alert = Alert.objects.get(session=held.cancelled)
    assert alert.session.customer_id == pseudonym
    assert NAME not in database_text() and EMAIL not in database_text()


def test_erasing_again_is_harmless_and_recorded(held: Held, api: Any) -> None:
    first = api.delete(f"/api/v1/customers/{CUSTOMER}").json()
    # A note added since, on the erased customer's alert, is erased the second time.
    alert = Alert.objects.get(session=held.saved)
    Alert.objects.filter(pk=alert.pk).update(notes="Erin called back")
    again = api.delete(f"/api/v1/customers/{CUSTOMER}")

    assert again.status_code == 200
    assert again.json()["customer"] == first["customer"]
    assert again.json()["counts"]["sessions"] == 2
    assert again.json()["counts"]["inbox_notes"] == 1
    alert.refresh_from_db()
    assert alert.notes == ""
    assert ErasureRecord.objects.filter(workspace=held.workspace).count() == 2
    assert CancelSession.objects.filter(customer_id=first["customer"]).count() == 2


def test_an_event_replayed_under_its_old_id_after_erasure_is_erased_again(
    held: Held, api: Any
) -> None:
    """The host replays an event under the id it had before erasure: a second copy
    is recorded; erasing again drops that copy (its erased twin is there) instead
    of failing on the unique id (found by the contract test: a 500)."""
    from django.utils import timezone

    from offers.subscription_events import SubscriptionEventInput, subscription_event_record

    assert api.delete(f"/api/v1/customers/{CUSTOMER}").status_code == 200
    subscription_event_record(
        workspace=held.workspace,
        event=SubscriptionEventInput(
            id=f"churn-{CUSTOMER}",
            subscription="sub_A1",
            type="cancelled",
            occurred_at=timezone.now(),
        ),
    )
    assert api.delete(f"/api/v1/customers/{CUSTOMER}").status_code == 200
    events = SubscriptionEvent.objects.filter(workspace=held.workspace, subscription_id="sub_A1")
    assert events.count() == 1
    assert all(e.event_id.startswith("erased_") for e in events)


def test_audit_record_names_who_and_counts_without_personal_data(held: Held, api: Any) -> None:
    api.delete(f"/api/v1/customers/{CUSTOMER}")

    record = ErasureRecord.objects.get()
    assert record.workspace == held.workspace
    assert record.erased_by == "api_key" and record.api_key is not None
    assert record.actor.startswith("test (")
    assert record.pseudonym.startswith("erased_") and record.counts["sessions"] == 2
    text = json.dumps(
        [{k: str(v) for k, v in row.items()} for row in ErasureRecord.objects.values()]
    )
    for fragment in [*PERSONAL, *FRAGMENTS]:
        assert fragment not in text


def test_another_workspace_cannot_erase_or_export_the_customer(
    held: Held, other_workspace: Any
) -> None:
    from rest_framework.test import APIClient

    # The other workspace's own customer of that id is there; this one is not.
    Response.objects.filter(session=held.namesake).delete()
    CancelSession.objects.filter(pk=held.namesake.pk).delete()
    outsider = APIClient()
    outsider.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(other_workspace)}")

    for response in (
        outsider.delete(f"/api/v1/customers/{CUSTOMER}"),
        outsider.get(f"/api/v1/customers/{CUSTOMER}/export"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "customer_not_found"
    assert CancelSession.objects.filter(customer_id=CUSTOMER).count() == 2
    assert not ErasureRecord.objects.exists()


@pytest.mark.parametrize("customer_id", ["cus_nobody", "x" * 201, "%F0%9F%98%80", "a/b/c"])
def test_unknown_or_impossible_customers_are_404_json(
    held: Held, api: Any, customer_id: str
) -> None:
    for response in (
        api.delete(f"/api/v1/customers/{customer_id}"),
        api.get(f"/api/v1/customers/{customer_id}/export"),
    ):
        assert response.status_code == 404, response.content
        assert response.json()["error"]["code"] == "customer_not_found"


def test_a_nul_in_the_customer_id_is_refused_before_anything_is_looked_up(
    held: Held, api: Any
) -> None:
    for response in (
        api.delete("/api/v1/customers/nul%00byte"),
        api.get("/api/v1/customers/nul%00byte/export"),
    ):
        assert response.status_code == 400, response.content
        assert response.json()["error"]["fields"] == {"path": ANY}
    assert not ErasureRecord.objects.exists()


def test_without_an_api_key_nothing_is_erased(held: Held, anon_api: Any) -> None:
    assert anon_api.delete(f"/api/v1/customers/{CUSTOMER}").status_code == 401
    assert anon_api.get(f"/api/v1/customers/{CUSTOMER}/export").status_code == 401
    assert CancelSession.objects.filter(customer_id=CUSTOMER).count() == 3


def test_inbox_note_and_admin_log_are_erased(held: Held, api: Any) -> None:
    api.delete(f"/api/v1/customers/{CUSTOMER}")
    assert not AlertChange.objects.exclude(note="").exists()
    entries = LogEntry.objects.exclude(object_id=str(held.namesake.pk))
    assert entries.count() == 3
    for entry in entries:
        assert CUSTOMER not in entry.object_repr + entry.change_message
        assert NOTE not in entry.change_message
    kept = LogEntry.objects.get(object_id=str(held.namesake.pk))
    assert CUSTOMER in kept.object_repr  # the other workspace's customer


def test_admin_log_of_a_row_deleted_since_is_found_by_its_words(held: Held, api: Any) -> None:
    from django.contrib.admin.models import DELETION
    from django.contrib.contenttypes.models import ContentType

    # Someone deleted an answer in the admin: the entry names it, with its words.
    answer = Response.objects.get(session=held.cancelled)
    gone = LogEntry.objects.create(
        user_id=LogEntry.objects.first().user_id,  # type: ignore[union-attr]
        content_type=ContentType.objects.get_for_model(Response),
        object_id="987654",
        object_repr=str(answer),
        action_flag=DELETION,
        change_message="",
    )
    assert "Flibbertigibbet" in gone.object_repr

    api.delete(f"/api/v1/customers/{CUSTOMER}")

    gone.refresh_from_db()
    assert "Flibbertigibbet" not in gone.object_repr and "[erased]" in gone.object_repr
