"""How the apps above link their rows to outbound's: a delivery's key is unique
per event, alerts' routes carry the alert, channel and endpoint (deleting one of
them deletes its deliveries, as when they were columns of the delivery), and a
deleted session takes its outcome events with it."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction

from alerts.models import Channel, DeliveryRoute, WebhookEndpoint
from alerts.services import outbox_dispatch
from outbound.models import Delivery, DeliveryAttempt, OutboxEvent
from outbound.services import delivery_create
from surveys.models import CancelSession
from surveys.services import session_answer, session_cancel
from tests.alerts.conftest import make_rule, make_team
from tests.factories import make_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def expanded(workspace: Any, settings: Any, django_capture_on_commit_callbacks: Any) -> Any:
    """A cancellation routed to a team's email channel and the host's endpoint,
    expanded (the endpoint, on a closed loopback port, fails and waits to retry)."""
    settings.ALLOW_PRIVATE_WEBHOOK_TARGETS = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DELIVERY_RETRY_DELAYS = [3600]
    team = make_team(workspace, "Success", email="success@example.com")
    make_rule(workspace, team, outcomes=["cancelled"])
    WebhookEndpoint.objects.create(workspace=workspace, url="http://127.0.0.1:9/hook")
    session = make_session(workspace)
    with django_capture_on_commit_callbacks(execute=False):
        session_answer(token=session.token, reason_code="too_expensive", text="")
        session_cancel(token=session.token)
    event = OutboxEvent.objects.get(subject_id=session.pk)
    outbox_dispatch(event_id=event.pk)
    return session, event, team


def test_each_delivery_has_its_key_and_alerts_route(expanded: Any) -> None:
    session, event, team = expanded
    channel = team.channels.get()
    endpoint = WebhookEndpoint.objects.get()
    rows = {d.key: d for d in Delivery.objects.filter(event=event).select_related("route")}
    assert set(rows) == {f"channel:{channel.pk}", f"endpoint:{endpoint.pk}"}
    to_channel, to_endpoint = rows[f"channel:{channel.pk}"], rows[f"endpoint:{endpoint.pk}"]
    assert to_channel.route.channel_id == channel.pk
    assert to_channel.route.alert.session_id == session.pk
    assert to_endpoint.route.endpoint_id == endpoint.pk and to_endpoint.route.alert is None
    assert (to_channel.target, to_endpoint.target) == ("success@example.com", endpoint.url)
    assert DeliveryAttempt.objects.filter(delivery__event=event).count() == 2


def test_a_second_delivery_of_an_event_to_the_same_key_is_refused(expanded: Any) -> None:
    _session, event, team = expanded
    with pytest.raises(IntegrityError), transaction.atomic():
        delivery_create(event=event, kind="email", key=f"channel:{team.channels.get().pk}")
    delivery_create(event=event, kind="customer_email", key="customer")
    with pytest.raises(IntegrityError), transaction.atomic():
        delivery_create(event=event, kind="customer_email", key="customer")
    # Without a key nothing is held back (deliveries written before keys).
    delivery_create(event=event, kind="stripe")
    delivery_create(event=event, kind="stripe")


def test_deleting_a_channel_or_an_endpoint_deletes_its_deliveries(expanded: Any) -> None:
    _session, event, team = expanded
    Channel.objects.filter(team=team).delete()
    assert list(Delivery.objects.filter(event=event).values_list("kind", flat=True)) == ["endpoint"]
    assert DeliveryAttempt.objects.filter(delivery__event=event).count() == 1
    WebhookEndpoint.objects.all().delete()
    assert not Delivery.objects.filter(event=event).exists()
    assert not DeliveryRoute.objects.exists() and not DeliveryAttempt.objects.exists()


def test_a_deleted_session_takes_its_events_alerts_and_deliveries(expanded: Any) -> None:
    session, event, _team = expanded
    CancelSession.objects.filter(pk=session.pk).delete()
    assert not OutboxEvent.objects.filter(pk=event.pk).exists()
    assert not Delivery.objects.exists() and not DeliveryRoute.objects.exists()
