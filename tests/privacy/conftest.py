"""One customer with everything the service can hold about them: two sessions
(answered in their words; one saved by an offer, one cancelled), alerts with
deliveries and attempts, an inbox note, a delivery still waiting, admin log
entries; and others who must stay as they are."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone

from alerts.models import Alert
from alerts.services import alert_update
from offers.subscription_events import SubscriptionEventInput, subscription_event_record
from outbound.models import DeliveryAttempt
from surveys.models import CancelSession, Response
from surveys.services import (
    CustomerInput,
    SubscriptionInput,
    session_accept,
    session_answer,
    session_cancel,
    session_open,
)
from tests.alerts.conftest import make_endpoint, make_rule, make_team
from tests.alerts.conftest import outbound as outbound
from tests.factories import UserFactory, make_offer
from tests.receivers import Receiver
from workspaces.models import Workspace

CUSTOMER = "cus_Erin_4711"
EMAIL = "erin.erasable@example.net"
NAME = "Erin Zwiebelkuchen"
WORDS_SAVED = "Zanzibarquux pricing is too steep for my bakery"
WORDS_CANCELLED = "The Flibbertigibbet export kept crashing; 太贵了朋友"
NOTE = "Phoned Erin on her mobile 0170-5550199"
META = "vip-tag-Grumplewick"
RETURN_URL = "https://host.example/accounts/erin-zwiebelkuchen"
# What must not be found anywhere once the customer is erased.
PERSONAL = [CUSTOMER, EMAIL, NAME, WORDS_SAVED, WORDS_CANCELLED, NOTE, META, RETURN_URL]
# Fragments that would betray them too (a quoted, truncated or escaped copy).
FRAGMENTS = ["Erin_4711", "erin.erasable", "Zwiebelkuchen", "Zanzibarquux", "Flibbertigibbet"]
FRAGMENTS += ["太贵了朋友", "0170-5550199", "Grumplewick"]


@dataclass
class Held:
    workspace: Workspace
    other_workspace: Workspace
    saved: CancelSession
    cancelled: CancelSession
    neighbour: CancelSession
    namesake: CancelSession
    receiver: Receiver


def open_session(workspace: Workspace, customer_id: str, subscription_id: str, **kw: Any) -> Any:
    return session_open(
        workspace=workspace,
        customer=CustomerInput(
            id=customer_id, email=kw.pop("email", EMAIL), name=kw.pop("name", NAME)
        ),
        subscription=SubscriptionInput(
            id=subscription_id, plan=kw.pop("plan", "Pro"), mrr_cents=kw.pop("mrr", 4900)
        ),
        return_url=kw.pop("return_url", RETURN_URL),
        metadata=kw.pop("metadata", {"segment": META, "stripe_subscription_id": "sub_stripe_1"}),
        **kw,
    ).session


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver.start()
    yield server
    server.stop()


@pytest.fixture
def held(
    workspace: Workspace,
    other_workspace: Workspace,
    outbound: Any,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> Held:
    outbound.DELIVERY_RETRY_DELAYS = [3600, 3600]
    workspace.send_confirmation_email = True
    workspace.save(update_fields=["send_confirmation_email"])
    team = make_team(workspace, "Success", email="success@acme.test")
    make_rule(workspace, team)
    make_endpoint(workspace, receiver.url + "/hooks")
    offer = make_offer(workspace)
    with django_capture_on_commit_callbacks(execute=True):
        neighbour = open_session(
            workspace,
            "cus_neighbour",
            "sub_N1",
            email="nel@example.org",
            name="Nel Neighbour",
            return_url="https://host.example/nel",
            metadata={"segment": "kept"},
        )
        session_answer(token=neighbour.token, reason_code="quality", text="Neighbour words")
        session_cancel(token=neighbour.token)
        # The same id in another workspace is another customer. (Other outcomes come
        # first: expanding an event also expands the others waiting.)
        namesake = open_session(
            other_workspace,
            CUSTOMER,
            "sub_O1",
            email="other.erin@example.org",
            name="Other Erin",
            return_url="",
            metadata={},
        )
        session_answer(token=namesake.token, reason_code="too_expensive", text="Namesake words")
        session_cancel(token=namesake.token)

    # The host's endpoint fails its first try of this outcome: that delivery waits
    # as a retry.
    receiver.statuses.append(500)
    with django_capture_on_commit_callbacks(execute=True):
        saved = open_session(workspace, CUSTOMER, "sub_A1", idempotency_key=f"cancel-{CUSTOMER}")
        session_answer(token=saved.token, reason_code="too_expensive", text=WORDS_SAVED)
        session_accept(token=saved.token, offer_id=offer.pk)
    # The second outcome's work has not run yet: its event waits to be expanded
    # and the confirmation email to the customer waits to be sent.
    with django_capture_on_commit_callbacks(execute=False):
        cancelled = open_session(workspace, CUSTOMER, "sub_B2", locale="zh-hans")
        session_answer(token=cancelled.token, reason_code="quality", text=WORDS_CANCELLED)
        session_cancel(token=cancelled.token)

    # The host told what happened later, under ids it built from the customer's id.
    for subscription, event_id in (("sub_A1", f"churn-{CUSTOMER}"), ("sub_N1", "churn-nel")):
        subscription_event_record(
            workspace=workspace,
            event=SubscriptionEventInput(
                id=event_id,
                subscription=subscription,
                type="cancelled",
                occurred_at=timezone.now(),
            ),
        )

    supporter = UserFactory(username="sam")
    alert = Alert.objects.get(session=saved)
    alert_update(alert=alert, user=supporter, status="contacted", assignee_id=None, note=NOTE)
    # A receiver that echoed what it was sent, recorded as the attempt's error.
    DeliveryAttempt.objects.filter(delivery__route__alert=alert).update(
        error=f"HTTP 400: bad payload {{'customer': '{NAME}', 'email': '{EMAIL}'}}"
    )
    # Someone looked at things in the admin.
    for obj in (saved, Response.objects.get(session=saved), alert, namesake):
        LogEntry.objects.create(
            user_id=supporter.pk,
            content_type=ContentType.objects.get_for_model(obj),
            object_id=str(obj.pk),
            object_repr=str(obj),
            action_flag=CHANGE,
            change_message=f'[{{"changed": {{"fields": ["Customer email"]}}}}, "{obj}"]',
        )
    return Held(workspace, other_workspace, saved, cancelled, neighbour, namesake, receiver)


def database_text() -> str:
    """Every row of every table, as text: what a dump of the database would show."""
    out = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                out.append(f"{table}: " + " | ".join(str(value) for value in row))
    return "\n".join(out)
