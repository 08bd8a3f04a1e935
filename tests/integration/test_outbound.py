"""Alerts and outcome webhooks through a real Celery worker and real Redis, to real
receivers on loopback: delivered once, retried, never lost when a worker dies or
Redis is down."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from standardwebhooks import Webhook

from alerts.models import Alert, WebhookEndpoint
from outbound.models import Delivery, DeliveryStatus, OutboxEvent
from surveys.services import session_answer, session_cancel
from tests.alerts.conftest import make_endpoint, make_rule, make_team
from tests.factories import make_session, make_workspace
from tests.integration.conftest import WorkerProcess, wait_for
from tests.integration.outbound import (
    PrivateRedis,
    SmtpSink,
    WebProcess,
    outbound_env,
)
from tests.receivers import Receiver


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    started: list[Receiver] = []
    yield started
    for receiver in started:
        receiver.stop()


def start_worker(tmp_path: Any, env: dict[str, str], *, beat: bool = True) -> WorkerProcess:
    args = ["-B", "--schedule", str(tmp_path / "beat-schedule")] if beat else []
    worker = WorkerProcess(*args, env=env)
    worker.start()
    return worker


@pytest.fixture
def workers() -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.stop()


def finish(workspace: Any, *, text: str = "", mrr_cents: int = 29900) -> Any:
    session = make_session(workspace, mrr_cents=mrr_cents)
    session_answer(token=session.token, reason_code="switching", text=text)
    return session_cancel(token=session.token)


def settle(seconds: float = 2.0) -> None:
    """Give a duplicate, if there were one, time to show up."""
    time.sleep(seconds)


def test_a_cancellation_reaches_slack_webhook_email_and_the_host(
    transactional_db, tmp_path, receivers, workers
) -> None:
    slack, hook, host = (Receiver.start() for _ in range(3))
    receivers.extend([slack, hook, host])
    smtp = SmtpSink()
    smtp.start()
    try:
        env = outbound_env(EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(smtp.port))
        workers.append(start_worker(tmp_path, env, beat=False))
        workspace = make_workspace()
        team = make_team(
            workspace,
            "Success",
            slack=f"{slack.url}/services/T0/B0/x",
            webhook=f"{hook.url}/alerts",
            email="success@example.com",
        )
        make_rule(workspace, team, categories=["competitor"])
        endpoint = make_endpoint(workspace, f"{host.url}/billing-hook")

        session = finish(workspace, text="We moved to Acme, it is cheaper")

        wait_for(lambda: slack.requests and hook.requests and host.requests and smtp.messages)
        settle()
    finally:
        smtp.stop()
    assert (len(slack.requests), len(hook.requests), len(host.requests)) == (1, 1, 1)
    assert len(smtp.messages) == 1
    event = Webhook(endpoint.secret).verify(host.requests[0].body, host.requests[0].headers)
    assert event["type"] == "session.completed"
    assert event["data"]["id"] == str(session.pk)
    assert event["data"]["answer"]["text"] == "We moved to Acme, it is cheaper"
    channel = team.channels.get(kind="webhook")
    Webhook(channel.secret).verify(hook.requests[0].body, hook.requests[0].headers)
    assert "We moved to Acme" in slack.requests[0].body.decode()
    message = smtp.messages[0]
    assert message.rcpt_tos == ["success@example.com"]
    assert b"We moved to Acme" in message.content
    assert Alert.objects.filter(session=session).count() == 1
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}


def test_500_three_times_then_200_is_delivered_once_more_and_no_more(
    transactional_db, tmp_path, receivers, workers
) -> None:
    host = Receiver.start(statuses=[500, 500, 500])
    receivers.append(host)
    workers.append(start_worker(tmp_path, outbound_env(), beat=True))
    workspace = make_workspace()
    make_endpoint(workspace, host.url)

    finish(workspace)

    wait_for(lambda: len(host.requests) >= 4)
    settle(3)
    assert len(host.requests) == 4
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.SENT
    assert list(delivery.attempt_log.values_list("status_code", flat=True)) == [500, 500, 500, 200]
    assert len({r.headers["webhook-id"] for r in host.requests}) == 1


def test_a_worker_killed_mid_delivery_is_replaced_and_the_event_arrives(
    transactional_db, tmp_path, receivers, workers
) -> None:
    # The first request stalls: the worker is killed while waiting for it.
    host = Receiver.start(stalls=[30])
    receivers.append(host)
    env = outbound_env()
    first = start_worker(tmp_path, env, beat=False)
    workers.append(first)
    workspace = make_workspace()
    make_endpoint(workspace, host.url)

    finish(workspace)
    wait_for(lambda: host.requests)  # the worker is inside the request now
    first.kill()
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.IN_FLIGHT

    workers.append(start_worker(tmp_path, env, beat=True))  # its beat runs the sweeper
    wait_for(lambda: len(host.requests) >= 2, timeout=40)

    def sent() -> bool:
        delivery.refresh_from_db()
        return delivery.status == DeliveryStatus.SENT

    wait_for(sent)
    assert delivery.attempt_log.get().number == 2  # the killed try left no record
    settle()
    assert len(host.requests) == 2


def test_redis_down_when_a_customer_cancels(transactional_db, tmp_path, receivers, workers) -> None:
    redis = PrivateRedis()
    redis.start()
    host = Receiver.start()
    receivers.append(host)
    env = outbound_env(REDIS_URL=redis.url)
    web = WebProcess(env)
    web.start()
    try:
        workers.append(start_worker(tmp_path, env, beat=True))
        workspace = make_workspace()
        make_endpoint(workspace, host.url)
        session = make_session(workspace)

        redis.stop()
        response = requests.post(f"{web.url}/api/v1/flow/{session.token}/cancel", timeout=30)
        assert response.status_code == 200
        assert response.json()["state"]["outcome"] == "cancelled"
        event = OutboxEvent.objects.get(subject_id=session.pk)
        assert event.dispatched_at is None  # waiting in the database, not lost
        assert host.requests == []

        redis.start()  # same port: the worker and its beat reconnect
        wait_for(lambda: host.requests, timeout=60)
        settle()
        assert len(host.requests) == 1
        assert host.requests[0].headers["webhook-id"] == event.event_id
    finally:
        web.stop()
        for worker in workers:
            worker.stop()
        workers.clear()
        redis.stop()


def test_410_disables_and_private_targets_are_refused(
    transactional_db, tmp_path, receivers, workers
) -> None:
    gone = Receiver.start(statuses=[410])
    private = Receiver.start()
    receivers.extend([gone, private])
    env = outbound_env(ALLOW_PRIVATE_WEBHOOK_TARGETS="false")
    workers.append(start_worker(tmp_path, env, beat=False))
    workspace = make_workspace()
    # Registered behind the API's back, as if DNS had changed since.
    refused = WebhookEndpoint.objects.create(workspace=workspace, url=private.url)
    finish(workspace)

    def dead() -> bool:
        return Delivery.objects.filter(route__endpoint=refused, status=DeliveryStatus.DEAD).exists()

    wait_for(dead)
    assert private.requests == []
    assert "non-public" in Delivery.objects.get(route__endpoint=refused).last_error

    workers.pop().stop()
    workers.append(start_worker(tmp_path, outbound_env(), beat=False))
    endpoint = make_endpoint(workspace, gone.url)
    WebhookEndpoint.objects.filter(pk=refused.pk).delete()
    finish(workspace)

    def disabled() -> bool:
        endpoint.refresh_from_db()
        return not endpoint.is_enabled

    wait_for(disabled)
    assert "410" in endpoint.disabled_reason
    assert len(gone.requests) == 1


def test_outcomes_waiting_for_a_worker_are_expanded_in_batches_and_sent_once(
    transactional_db, tmp_path, receivers, workers
) -> None:
    host = Receiver.start()
    hook = Receiver.start()
    receivers.extend([host, hook])
    workspace = make_workspace()
    team = make_team(workspace, webhook=hook.url)
    make_rule(workspace, team)
    make_endpoint(workspace, host.url)
    # Thirty outcomes queue thirty tasks before any worker runs; then three
    # worker processes take them at once.
    sessions = [finish(workspace) for _ in range(30)]
    worker = WorkerProcess("--pool=prefork", "--concurrency=3", env=outbound_env())
    worker.start()
    workers.append(worker)

    wait_for(lambda: len(host.requests) >= 30 and len(hook.requests) >= 30, timeout=60)
    settle()
    assert len(host.requests) == 30 and len(hook.requests) == 30
    assert {r.headers["webhook-id"] for r in host.requests} == set(
        OutboxEvent.objects.values_list("event_id", flat=True)
    )
    assert Alert.objects.filter(session__in=sessions).count() == 30
    assert set(Delivery.objects.values_list("status", "attempts")) == {(DeliveryStatus.SENT, 1)}
    # Events expanded together share their dispatched_at: fewer batches than events.
    batches = set(OutboxEvent.objects.values_list("dispatched_at", flat=True))
    assert None not in batches and len(batches) < 30
