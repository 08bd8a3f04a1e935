"""The weekly digest goes out as deliveries, one per digest channel: claimed once
per workspace and week, sent after the claim has committed, a failed channel
retried alone, dead after the last try and retryable from the API."""

from __future__ import annotations

import io
import smtplib
from typing import Any

import pytest
from django.core.mail.backends.locmem import EmailBackend
from django.core.management import CommandError, call_command
from django.db import connection

from analytics.digest import DIGEST_EVENT, digest_send, digests_send_due
from analytics.models import DigestRun
from analytics.transports import DigestEmailTransport
from outbound.models import Delivery, OutboxEvent
from outbound.services import delivery_attempt
from tests.analytics.test_digest import WEEK, at, make_digest_team

# The fixture of test_digest (its module docstring has the figures).
from tests.analytics.test_digest import history as history
from tests.factories import make_api_key, make_workspace

SUBJECT = "Why customers left: week of 2026-11-16 (Acme)"


def refusing(address: str) -> Any:
    """A locmem ``send_messages`` that refuses every email to ``address``."""
    original = EmailBackend.send_messages

    def send_messages(self: Any, messages: Any) -> int:
        if any(address in m.to for m in messages):
            raise smtplib.SMTPServerDisconnected("gone")
        return original(self, messages)

    return send_messages


def test_a_failed_channel_is_retried_alone(history, mailoutbox, monkeypatch) -> None:
    workspace = history["workspace"]
    make_digest_team(workspace, "Product", "product@acme.test")
    make_digest_team(workspace, "产品组", "cn@acme.test", locale="zh-hans")

    with monkeypatch.context() as patch:
        patch.setattr(
            "django.core.mail.backends.locmem.EmailBackend.send_messages",
            refusing("cn@acme.test"),
        )
        run = digest_send(workspace=workspace, week_start=WEEK, now=at("2026-11-23T16:00"))

    assert run is not None and run.sent_at is None
    assert [m.to for m in mailoutbox] == [["product@acme.test"]]
    by_target = {d.target: d for d in Delivery.objects.select_related("event")}
    assert {t: d.status for t, d in by_target.items()} == {
        "product@acme.test": "sent",
        "cn@acme.test": "retry",
    }
    # A repeated tick writes no second delivery and sends nobody anything.
    assert digests_send_due(now=at("2026-11-23T17:00")) == []
    assert Delivery.objects.count() == 2
    assert len(mailoutbox) == 1

    failed = by_target["cn@acme.test"]
    assert (
        "text" in OutboxEvent.objects.get(event_type=DIGEST_EVENT).payload["messages"]["zh-hans"]
    )  # kept to retry
    assert delivery_attempt(delivery_id=failed.pk, now=failed.next_attempt_at) == "sent"

    assert sorted(m.to for m in mailoutbox) == [["cn@acme.test"], ["product@acme.test"]]
    assert mailoutbox[1].subject != SUBJECT  # the Chinese copy, written at the claim
    assert "价格" in mailoutbox[1].body
    [run] = digests_send_due(now=at("2026-11-23T18:00"))  # found sent
    assert run.sent_at is not None
    # Everyone has a copy: the bodies (customers' words) are dropped, subjects kept.
    assert OutboxEvent.objects.get(event_type=DIGEST_EVENT).payload["messages"] == {
        "en": {"subject": SUBJECT},
        "zh-hans": {"subject": mailoutbox[1].subject},
    }
    assert digests_send_due(now=at("2026-11-23T19:00")) == []
    assert len(mailoutbox) == 2
    assert Delivery.objects.get(pk=by_target["product@acme.test"].pk).attempts == 1


def test_repeated_ticks_write_one_event_and_one_delivery_per_channel(history, mailoutbox) -> None:
    workspace = history["workspace"]
    make_digest_team(workspace, "Product", "product@acme.test")
    make_digest_team(workspace, "Research", "research@acme.test, product@acme.test")

    for hour in ("16:00", "17:00", "18:00"):
        digests_send_due(now=at(f"2026-11-23T{hour}"))
        digest_send(workspace=workspace, week_start=WEEK)

    run = DigestRun.objects.get()
    event = OutboxEvent.objects.get(event_type=DIGEST_EVENT)
    assert run.event_id == event.pk and event.subject_id is None
    assert event.payload["week_start"] == "2026-11-16"
    assert event.payload["messages"] == {"en": {"subject": SUBJECT}}
    assert [(d.kind, d.status, d.attempts) for d in Delivery.objects.order_by("id")] == [
        ("digest", "sent", 1),
        ("digest", "sent", 1),
    ]
    assert sorted(m.to for m in mailoutbox) == [["product@acme.test"], ["research@acme.test"]]


def test_dead_after_the_last_try_listed_and_retried_from_the_api(
    history,
    mailoutbox,
    monkeypatch,
    settings,
    django_capture_on_commit_callbacks,
) -> None:
    settings.DELIVERY_RETRY_DELAYS = [5]  # two tries in all
    workspace = history["workspace"]
    make_digest_team(workspace, "Product", "product@acme.test")
    with monkeypatch.context() as patch:
        patch.setattr(
            "django.core.mail.backends.locmem.EmailBackend.send_messages",
            refusing("product@acme.test"),
        )
        digest_send(workspace=workspace, week_start=WEEK)
        delivery = Delivery.objects.get()
        assert delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at) == "dead"
    assert mailoutbox == []

    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(workspace)}")
    [dead] = api.get("/api/v1/deliveries?status=dead").json()
    assert (dead["kind"], dead["event_type"], dead["target"]) == (
        "digest",
        "digest.weekly",
        "product@acme.test",
    )
    assert [a["error"] for a in dead["attempt_log"]] == ["SMTP: SMTPServerDisconnected: gone"] * 2

    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"/api/v1/deliveries/{dead['id']}/retry").status_code == 202

    [email] = mailoutbox
    assert email.subject == SUBJECT and email.to == ["product@acme.test"]
    assert digest_send(workspace=workspace, week_start=WEEK).sent_at is not None  # type: ignore[union-attr]


@pytest.mark.django_db(transaction=True)
def test_no_email_is_sent_inside_the_claiming_transaction(mailoutbox, monkeypatch) -> None:
    workspace = make_workspace(name="Acme", slug="acme")
    make_digest_team(workspace, "Product", "product@acme.test")
    seen: list[bool] = []
    original = DigestEmailTransport.send

    def send(self: Any, delivery: Delivery) -> int | None:
        seen.append(connection.in_atomic_block)
        return original(self, delivery)

    monkeypatch.setattr(DigestEmailTransport, "send", send)

    run = digest_send(workspace=workspace, week_start=WEEK, now=at("2026-11-23T16:00"))

    assert seen == [False]
    assert run is not None and run.sent_at == at("2026-11-23T16:00")
    [email] = mailoutbox
    assert email.subject == SUBJECT


def test_send_digest_names_the_channel_left_to_retry(history, mailoutbox, monkeypatch) -> None:
    make_digest_team(history["workspace"], "Product", "product@acme.test")
    make_digest_team(history["workspace"], "Research", "research@acme.test")
    monkeypatch.setattr(
        "django.core.mail.backends.locmem.EmailBackend.send_messages",
        refusing("research@acme.test"),
    )

    with pytest.raises(CommandError) as raised:
        call_command("send_digest", workspace="acme", week="2026-11-16", stdout=io.StringIO())

    assert str(raised.value).startswith(
        "The digest of the week of 2026-11-16 is not sent to every channel yet: "
        "research@acme.test: retry (SMTP: SMTPServerDisconnected: gone)."
    )
    assert [m.to for m in mailoutbox] == [["product@acme.test"]]
