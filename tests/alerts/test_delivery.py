"""Outcomes become alerts and signed webhooks, delivered to real receivers on
loopback; failures retry, record every try, and end dead or disabled."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone
from slack_sdk.models.blocks import Block
from standardwebhooks import Webhook

from alerts.models import Alert, WebhookEndpoint
from alerts.services import outbox_dispatch
from outbound.models import Delivery, DeliveryStatus, OutboxEvent
from outbound.services import deliveries_sweep, delivery_attempt
from surveys.services import session_answer, session_cancel
from tests.alerts.conftest import make_endpoint, make_rule, make_team
from tests.factories import make_session
from tests.receivers import Receiver

pytestmark = pytest.mark.django_db


def cancel(workspace: Any, *, reason: str = "too_expensive", text: str = "", **kw: Any) -> Any:
    session = make_session(workspace, **kw)
    session_answer(token=session.token, reason_code=reason, text=text)
    return session_cancel(token=session.token)


def test_a_cancellation_reaches_slack_the_webhook_channel_and_email(
    workspace, outbound, receiver, django_capture_on_commit_callbacks
) -> None:
    slack = Receiver.start()
    try:
        team = make_team(
            workspace,
            "Success",
            slack=f"{slack.url}/slack",
            webhook=f"{receiver.url}/alerts",
            email="success@example.com",
        )
        make_rule(workspace, team, outcomes=["cancelled"])
        with django_capture_on_commit_callbacks(execute=True):
            session = cancel(workspace, text="Too pricey for what we use", mrr_cents=29900)
    finally:
        slack.stop()

    alert = Alert.objects.get(session=session)
    assert alert.team == team
    assert set(Delivery.objects.values_list("kind", "status")) == {
        ("slack", "sent"),
        ("webhook", "sent"),
        ("email", "sent"),
    }
    # Slack: valid Block Kit with the customer's words.
    payload = slack.requests[0].json()
    for block in payload["blocks"]:
        parsed = Block.parse(block)
        assert parsed is not None, block
        parsed.validate_json()  # slack_sdk raises on a malformed block
    assert [b["type"] for b in payload["blocks"]] == ["header", "section", "section", "actions"]
    assert "Too pricey for what we use" in json.dumps(payload, ensure_ascii=False)
    # Generic webhook: signed with the channel's secret.
    request = receiver.requests[0]
    channel = team.channels.get(kind="webhook")
    body = Webhook(channel.secret).verify(request.body, request.headers)
    assert body["alert"]["risk_score"] == alert.risk_score
    assert body["event"]["data"]["answer"]["text"] == "Too pricey for what we use"
    # Email, text and HTML, with a link to the inbox.
    message = mail.outbox[0]
    assert message.to == ["success@example.com"]
    assert "Too pricey for what we use" in message.body
    assert f"/app/{workspace.slug}/inbox/{alert.pk}/" in message.body
    assert message.alternatives[0][1] == "text/html"


def test_the_host_gets_a_verifiable_outcome_event(
    workspace, outbound, receiver, django_capture_on_commit_callbacks
) -> None:
    from tests.factories import make_offer

    offer = make_offer(workspace)
    endpoint = make_endpoint(workspace, f"{receiver.url}/hook", ["session.completed"])
    with django_capture_on_commit_callbacks(execute=True):
        session = cancel(workspace, text="too much")
    request = receiver.requests[0]
    event = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert request.headers["webhook-id"] == OutboxEvent.objects.get(subject_id=session.pk).event_id
    assert event["type"] == "session.completed"
    data = event["data"]
    assert data["outcome"] == "cancelled"
    assert data["answer"]["reason"] == "too_expensive"
    assert data["answer"]["category"] == "price"
    assert data["offer"] == {
        "id": offer.pk,
        "kind": "discount_percent",
        "name": offer.name,
        "terms": {"percent": 30, "months": 3},
        "accepted": False,
    }


def test_an_endpoint_only_gets_the_events_it_asked_for(
    workspace, outbound, receiver, django_capture_on_commit_callbacks
) -> None:
    make_endpoint(workspace, receiver.url, ["session.abandoned"])
    with django_capture_on_commit_callbacks(execute=True):
        cancel(workspace)
    assert receiver.requests == []
    assert not Delivery.objects.exists()


def test_500_three_times_then_200_means_four_attempts_and_one_receipt(
    workspace, outbound, django_capture_on_commit_callbacks
) -> None:
    receiver = Receiver.start(statuses=[500, 500, 500])
    try:
        make_endpoint(workspace, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            cancel(workspace)
        delivery = Delivery.objects.get()
        # Eager tasks ran the first try; the retries are due at once (delays 0).
        for _ in range(10):
            delivery_attempt(delivery_id=delivery.pk)
    finally:
        receiver.stop()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    attempts = list(delivery.attempt_log.values_list("number", "ok", "status_code"))
    assert attempts == [(1, False, 500), (2, False, 500), (3, False, 500), (4, True, 200)]
    assert [r.headers["webhook-id"] for r in receiver.requests] == [
        delivery.event.event_id
    ] * 4  # the same id on every try
    assert len(receiver.requests) == 4


def test_after_the_last_try_a_delivery_is_dead_and_says_why(
    workspace, outbound, django_capture_on_commit_callbacks
) -> None:
    receiver = Receiver.start(statuses=[503] * 10)
    try:
        make_endpoint(workspace, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            cancel(workspace)
        delivery = Delivery.objects.get()
        for _ in range(10):
            delivery_attempt(delivery_id=delivery.pk)
    finally:
        receiver.stop()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DEAD
    assert delivery.attempts == 4  # the first try and three retries
    assert "503" in delivery.last_error
    assert len(receiver.requests) == 4


def test_410_disables_the_endpoint(workspace, outbound, django_capture_on_commit_callbacks) -> None:
    receiver = Receiver.start(statuses=[410])
    try:
        endpoint = make_endpoint(workspace, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            cancel(workspace)
        with django_capture_on_commit_callbacks(execute=True):
            cancel(workspace)  # a second outcome: the endpoint is off now
    finally:
        receiver.stop()
    endpoint.refresh_from_db()
    assert not endpoint.is_enabled and "410" in endpoint.disabled_reason
    assert Delivery.objects.get().status == DeliveryStatus.DEAD
    assert len(receiver.requests) == 1


def test_private_addresses_are_refused_without_the_setting(
    workspace, outbound, receiver, django_capture_on_commit_callbacks
) -> None:
    outbound.ALLOW_PRIVATE_WEBHOOK_TARGETS = False
    WebhookEndpoint.objects.create(workspace=workspace, url=receiver.url)  # bypassing the API
    with django_capture_on_commit_callbacks(execute=True):
        cancel(workspace)
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.DEAD
    assert "non-public address" in delivery.last_error
    assert receiver.requests == []


def test_redirects_are_not_followed(
    workspace, outbound, receiver, django_capture_on_commit_callbacks
) -> None:
    bouncer = Receiver.start(redirect_to="http://169.254.169.254/latest/meta-data/")
    try:
        make_endpoint(workspace, bouncer.url)
        with django_capture_on_commit_callbacks(execute=True):
            cancel(workspace)
    finally:
        bouncer.stop()
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.DEAD  # quick retries in tests: all used up
    assert "redirect" in delivery.last_error and "not followed" in delivery.last_error
    assert delivery.attempt_log.filter(status_code=302).count() == delivery.attempts


def test_a_team_gets_one_alert_per_session_and_a_repeated_task_sends_nothing(
    workspace, outbound, receiver, django_capture_on_commit_callbacks
) -> None:
    team = make_team(workspace, webhook=receiver.url)
    make_rule(workspace, team, categories=["price"])
    make_rule(workspace, team, name="also price", outcomes=["cancelled"])  # same team again
    with django_capture_on_commit_callbacks(execute=True):
        session = cancel(workspace)
    event = OutboxEvent.objects.get(subject_id=session.pk)
    delivery = Delivery.objects.get()
    # The worker runs everything twice (a redelivered message, a retried task).
    assert outbox_dispatch(event_id=event.pk) == []
    assert delivery_attempt(delivery_id=delivery.pk) is None
    assert Alert.objects.filter(session=session).count() == 1
    assert len(receiver.requests) == 1


def test_stop_after_match_and_conditions(workspace, outbound, django_capture_on_commit_callbacks):
    success = make_team(workspace, "Success")
    billing = make_team(workspace, "Billing")
    product = make_team(workspace, "Product")
    make_rule(workspace, success, priority=1, min_mrr_cents=10000, stop_after_match=True)
    make_rule(workspace, billing, priority=2, categories=["price"])
    make_rule(workspace, product, priority=3, categories=["missing_features"])
    with django_capture_on_commit_callbacks(execute=True):
        big = cancel(workspace, mrr_cents=29900)
        small = cancel(workspace, mrr_cents=1900)
        features = cancel(workspace, reason="missing_feature", mrr_cents=1900)
    assert list(Alert.objects.filter(session=big).values_list("team__name", flat=True)) == [
        "Success"
    ]
    assert list(Alert.objects.filter(session=small).values_list("team__name", flat=True)) == [
        "Billing"
    ]
    assert list(Alert.objects.filter(session=features).values_list("team__name", flat=True)) == [
        "Product"
    ]


def test_accepting_a_support_offer_alerts_support(
    workspace, outbound, django_capture_on_commit_callbacks
) -> None:
    from surveys.services import session_accept
    from tests.factories import make_offer

    offer = make_offer(
        workspace, name="Talk to us", kind="support", terms={}, categories=["customer_service"]
    )
    support = make_team(workspace, "Support")
    make_rule(workspace, support, offer_kinds=["support"])
    session = make_session(workspace)
    with django_capture_on_commit_callbacks(execute=True):
        session_answer(token=session.token, reason_code="support")
        session_accept(token=session.token, offer_id=offer.pk)
    alert = Alert.objects.get(session=session)
    assert alert.team == support and alert.session.outcome == "saved"


def test_the_sweeper_rescues_work_whose_task_was_lost(
    workspace, outbound, receiver, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    make_endpoint(workspace, receiver.url)
    lost: list[Any] = []
    monkeypatch.setattr("outbound.services.task_queue", lambda task, *args, **kw: lost.append(args))
    session = cancel(workspace)  # on_commit never runs here: as if the broker were down
    event = OutboxEvent.objects.get(subject_id=session.pk)
    assert event.dispatched_at is None
    monkeypatch.undo()

    assert deliveries_sweep().events == 0  # its own task may still be coming
    OutboxEvent.objects.update(created_at=timezone.now() - timedelta(seconds=30))
    with django_capture_on_commit_callbacks(execute=True):
        result = deliveries_sweep()
    assert result.events == 1
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.SENT
    assert len(receiver.requests) == 1


def test_the_sweeper_resends_a_delivery_stuck_in_flight(
    workspace, outbound, receiver, monkeypatch
) -> None:
    from alerts.services import outbox

    make_endpoint(workspace, receiver.url)
    session = cancel(workspace)
    event = OutboxEvent.objects.get(subject_id=session.pk)
    # The worker writes the delivery in flight ... and dies before sending it.
    monkeypatch.setattr(outbox, "deliveries_send", lambda **kwargs: [])
    outbox_dispatch(event_id=event.pk)
    monkeypatch.undo()
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.IN_FLIGHT

    assert deliveries_sweep().rescued == 0  # not stale yet
    Delivery.objects.update(updated_at=timezone.now() - timedelta(minutes=5))
    result = deliveries_sweep()
    assert result.rescued == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert len(receiver.requests) == 1


def test_a_chinese_team_reads_its_alert_in_chinese(
    workspace, outbound, django_capture_on_commit_callbacks
) -> None:
    team = make_team(workspace, "客户成功", email="cs@example.com")
    team.locale = "zh-hans"
    team.save()
    make_rule(workspace, team)
    with django_capture_on_commit_callbacks(execute=True):
        cancel(workspace, text="太贵了,用不起")
    body = mail.outbox[0].body
    assert "客户原话" in body and "风险分" in body and "太贵了,用不起" in body


@pytest.fixture
def batching(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches as on PostgreSQL, on SQLite too (one connection: no lock to skip)."""
    from alerts.services import outbox

    monkeypatch.setattr(outbox, "_batch_limit", lambda: outbox.DISPATCH_BATCH)


def test_one_task_expands_the_events_waiting_and_theirs_then_do_nothing(
    workspace, outbound, receiver, batching
) -> None:
    team = make_team(workspace, webhook=f"{receiver.url}/alerts")
    make_rule(workspace, team)
    make_endpoint(workspace, f"{receiver.url}/hook")
    # Outcomes committed faster than the worker takes their tasks (on_commit does
    # not run here: their tasks are still queued).
    sessions = [cancel(workspace) for _ in range(3)]
    events = list(OutboxEvent.objects.order_by("created_at"))

    created = outbox_dispatch(event_id=events[0].pk)

    assert len(created) == 6  # an alert webhook and an outcome event for each
    assert len(receiver.requests) == 6
    assert sorted(r.path for r in receiver.requests) == ["/alerts"] * 3 + ["/hook"] * 3
    assert set(Delivery.objects.values_list("status", "attempts")) == {(DeliveryStatus.SENT, 1)}
    assert Alert.objects.filter(session__in=sessions).count() == 3
    assert not OutboxEvent.objects.filter(dispatched_at__isnull=True).exists()
    # The other events' own tasks arrive: nothing left to do, nothing sent again.
    for event in events:
        assert outbox_dispatch(event_id=event.pk) == []
    assert len(receiver.requests) == 6


def test_abandoned_then_cancelled_in_one_batch_alerts_a_team_once(
    workspace, outbound, receiver, batching, caplog
) -> None:
    from surveys.models import CancelSession
    from surveys.services import sessions_abandon_stale

    team = make_team(workspace, webhook=receiver.url)
    make_rule(workspace, team)
    session = make_session(workspace)
    CancelSession.objects.filter(pk=session.pk).update(
        created_at=timezone.now() - timedelta(days=2)
    )
    sessions_abandon_stale()
    session_cancel(token=session.token)  # the customer comes back and cancels
    events = list(OutboxEvent.objects.order_by("created_at"))
    assert [e.follows_outcome for e in events] == [False, True]

    outbox_dispatch(event_id=events[1].pk)

    assert not caplog.records  # expanded as one batch, not one by one after a failure
    assert Alert.objects.filter(session=session).count() == 1
    assert len(receiver.requests) == 1
    assert not OutboxEvent.objects.filter(dispatched_at__isnull=True).exists()


def test_a_batch_sends_at_most_send_at_once_and_queues_the_rest(
    workspace, outbound, receiver, batching, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    from alerts import services
    from alerts.services import outbox

    monkeypatch.setattr(outbox, "SEND_AT_ONCE", 2)
    make_endpoint(workspace, receiver.url)
    for _ in range(3):
        cancel(workspace)
    first = OutboxEvent.objects.order_by("created_at").first()
    assert first is not None

    with django_capture_on_commit_callbacks(execute=False) as queued:
        services.outbox_dispatch(event_id=first.pk)
    assert len(receiver.requests) == 2
    assert Delivery.objects.filter(status=DeliveryStatus.PENDING, attempts=0).count() == 1
    for callback in queued:
        callback()  # the task queued for the third runs (eagerly here)
    assert len(receiver.requests) == 3
    assert set(Delivery.objects.values_list("status", "attempts")) == {(DeliveryStatus.SENT, 1)}


def test_an_event_that_cannot_be_expanded_does_not_hold_back_the_others(
    workspace, outbound, receiver, batching, monkeypatch
) -> None:
    from alerts import services
    from alerts.services import outbox

    make_endpoint(workspace, receiver.url)
    sessions = [cancel(workspace) for _ in range(3)]
    facts = outbox.session_facts

    def broken_for_the_second(session: Any) -> Any:
        if session.pk == sessions[1].pk:
            raise ValueError("bad data")
        return facts(session)

    monkeypatch.setattr(outbox, "session_facts", broken_for_the_second)
    first = OutboxEvent.objects.order_by("created_at").first()
    assert first is not None

    created = services.outbox_dispatch(event_id=first.pk)

    assert len(created) == 2 and len(receiver.requests) == 2
    waiting = OutboxEvent.objects.filter(dispatched_at__isnull=True)
    assert [e.subject_id for e in waiting] == [sessions[1].pk]  # for the sweeper
