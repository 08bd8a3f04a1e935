"""What customers typed is data wherever it goes: one line in an email header,
escaped in Slack. A failure that would recur identically is dead at once, with
the reason; only a failure that may pass is retried."""

from __future__ import annotations

import json
import re
import smtplib
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.core.mail import BadHeaderError, EmailMessage
from slack_sdk.models.blocks import Block

from outbound.models import Delivery, DeliveryStatus
from outbound.services import delivery_attempt
from outbound.transports.mail import header_text
from surveys.services import CustomerInput, SubscriptionInput, session_answer, session_open
from surveys.services import session_cancel as cancel_session
from tests.alerts.conftest import make_rule, make_team
from tests.receivers import Receiver

pytestmark = pytest.mark.django_db

NEWLINE_NAME = "Evil\nBcc: x@example.com"
SLACK_NAME = "<!channel> <https://evil|click> & co"


def cancelled(
    workspace: Any, *, name: str = "", email: str = "ada@example.com", text: str = "", **sub: Any
) -> Any:
    session = session_open(
        workspace=workspace,
        customer=CustomerInput(id="cus_1", email=email, name=name),
        subscription=SubscriptionInput(
            id="sub_1", plan=sub.get("plan", "Pro"), mrr_cents=4900, currency="USD"
        ),
    ).session
    session_answer(token=session.token, reason_code="too_expensive", text=text)
    return cancel_session(token=session.token)


def retry_all(delivery: Delivery) -> Delivery:
    for _ in range(6):
        delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return delivery


# --- Email headers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Evil\nBcc: x@example.com", "Evil Bcc: x@example.com"),
        ("a\r\nb\rc", "a b c"),
        ("tab\there\x00nul\x7fdel\x85nel", "tab here nul del nel"),
        ("line\u2028sep\u2029para", "line sep para"),
        ("  plain  ", "plain"),
    ],
)
def test_header_text_keeps_one_line(value, expected) -> None:
    assert header_text(value) == expected


def test_a_newline_in_the_name_makes_a_clean_subject_and_the_alert_is_sent(
    workspace, outbound, django_capture_on_commit_callbacks
) -> None:
    team = make_team(workspace, email="success@example.com")
    make_rule(workspace, team, outcomes=["cancelled"])
    with django_capture_on_commit_callbacks(execute=True):
        cancelled(workspace, name=NEWLINE_NAME)
    delivery = Delivery.objects.get(kind="email")
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 1
    [message] = mail.outbox
    assert "\n" not in message.subject and "\r" not in message.subject
    assert "Evil Bcc: x@example.com" in message.subject
    assert message.to == ["success@example.com"] and message.bcc == []
    headers = message.message()
    assert headers["Bcc"] is None
    assert headers.get_all("To") == ["success@example.com"]


def test_an_invalid_channel_address_is_dead_after_one_attempt(
    workspace, outbound, django_capture_on_commit_callbacks
) -> None:
    team = make_team(workspace, email="support at example")
    make_rule(workspace, team, outcomes=["cancelled"])
    with django_capture_on_commit_callbacks(execute=True):
        cancelled(workspace)
    delivery = retry_all(Delivery.objects.get(kind="email"))
    assert delivery.status == DeliveryStatus.DEAD and delivery.attempts == 1
    assert "Invalid email address 'support at example'" in delivery.last_error
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("failure", "permanent", "reason"),
    [
        (BadHeaderError("Header values can't contain newlines"), True, "Bad email header"),
        (ValueError('Invalid address "x"'), True, "Invalid address"),
        (smtplib.SMTPRecipientsRefused({"a@example.com": (550, b"no")}), True, "refused"),
        (smtplib.SMTPServerDisconnected("gone"), False, "SMTPServerDisconnected"),
        (OSError("connection refused"), False, "connection refused"),
    ],
)
def test_failures_that_would_recur_are_dead_at_once(
    workspace, outbound, monkeypatch, django_capture_on_commit_callbacks, failure, permanent, reason
) -> None:
    def broken(self: EmailMessage, fail_silently: bool = False) -> int:
        raise failure

    monkeypatch.setattr(EmailMessage, "send", broken)
    team = make_team(workspace, email="success@example.com")
    make_rule(workspace, team, outcomes=["cancelled"])
    with django_capture_on_commit_callbacks(execute=True):
        cancelled(workspace)
    delivery = retry_all(Delivery.objects.get(kind="email"))
    assert delivery.status == DeliveryStatus.DEAD
    assert delivery.attempts == (1 if permanent else 4)  # else the first try and 3 retries
    assert reason in delivery.last_error
    assert set(delivery.attempt_log.values_list("error", flat=True)) == {delivery.last_error}


def test_a_confirmation_to_an_invalid_customer_address_is_dead_at_once(
    workspace, outbound, django_capture_on_commit_callbacks
) -> None:
    workspace.send_confirmation_email = True
    workspace.save(update_fields=["send_confirmation_email"])
    with django_capture_on_commit_callbacks(execute=True):
        cancelled(workspace, name=NEWLINE_NAME, email="ada@example.com\nBcc: x@example.com")
    delivery = retry_all(Delivery.objects.get(kind="customer_email"))
    assert delivery.status == DeliveryStatus.DEAD and delivery.attempts == 1
    assert "Invalid email address 'ada@example.com Bcc: x@example.com'" in delivery.last_error
    assert mail.outbox == []


def test_a_confirmation_subject_stays_one_line_whatever_the_workspace_name(
    workspace, outbound, django_capture_on_commit_callbacks
) -> None:
    workspace.send_confirmation_email = True
    workspace.name = "Acme\r\nBcc: x@example.com"
    workspace.save(update_fields=["send_confirmation_email", "name"])
    with django_capture_on_commit_callbacks(execute=True):
        cancelled(workspace, name=NEWLINE_NAME)
    delivery = Delivery.objects.get(kind="customer_email")
    assert delivery.status == DeliveryStatus.SENT
    [message] = mail.outbox
    assert message.subject == "Your cancellation is confirmed · Acme Bcc: x@example.com"
    assert message.to == ["ada@example.com"] and message.message()["Bcc"] is None


# --- Slack ------------------------------------------------------------------------------


@pytest.fixture
def slack() -> Iterator[Receiver]:
    server = Receiver.start()
    yield server
    server.stop()


def strings(value: Any) -> Iterator[str]:
    """Every string in a JSON document (keys and values)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def test_slack_shows_customer_markup_literally(
    workspace, outbound, slack, django_capture_on_commit_callbacks
) -> None:
    team = make_team(workspace, slack=f"{slack.url}/slack")
    make_rule(workspace, team, outcomes=["cancelled"])
    words = f"{SLACK_NAME}\nsecond line <@U123> &amp; more"
    with django_capture_on_commit_callbacks(execute=True):
        cancelled(workspace, name=SLACK_NAME, text=words, plan="<!here> Pro & more")
    assert Delivery.objects.get(kind="slack").status == DeliveryStatus.SENT
    payload = slack.requests[0].json()
    for block in payload["blocks"]:
        Block.parse(block).validate_json()  # type: ignore[union-attr]
    found = list(strings(payload))
    for text in found:
        assert "<" not in text, text
        assert not re.search(r"&(?!(amp|lt|gt);)", text), text
        # The only ">" is the quote marker this service puts before each line.
        assert ">" not in re.sub(r"(?m)^> ", "", text), text
    document = json.dumps(payload, ensure_ascii=False)
    escaped = "&lt;!channel&gt; &lt;https://evil|click&gt; &amp; co"
    assert payload["text"].startswith(escaped)
    assert payload["blocks"][0]["text"]["text"].startswith(escaped)  # the plain_text header
    assert f"\\n{escaped}" in document  # the customer field
    assert "&lt;!here&gt; Pro &amp; more" in document  # the plan
    assert "> &lt;@U123&gt; &amp;amp; more" in document.replace("second line ", "")


def test_a_long_text_is_cut_without_splitting_an_escape(
    workspace, outbound, slack, django_capture_on_commit_callbacks
) -> None:
    team = make_team(workspace, slack=f"{slack.url}/slack")
    make_rule(workspace, team, outcomes=["cancelled"])
    with django_capture_on_commit_callbacks(execute=True):
        cancelled(workspace, name="&" * 200, text="<" * 2000)
    payload = slack.requests[0].json()
    header = payload["blocks"][0]["text"]["text"]
    assert len(header) <= 150 and header.endswith("&amp;")
    for text in strings(payload):
        assert not re.search(r"&(?!(amp|lt|gt);)", text), text[-20:]


@pytest.mark.parametrize(("status", "attempts"), [(400, 1), (404, 1), (429, 4), (500, 4)])
def test_slack_client_errors_are_dead_at_once_and_the_rest_retried(
    workspace, outbound, django_capture_on_commit_callbacks, status, attempts
) -> None:
    slack = Receiver.start(statuses=[status] * 10)
    try:
        team = make_team(workspace, slack=f"{slack.url}/slack")
        make_rule(workspace, team, outcomes=["cancelled"])
        with django_capture_on_commit_callbacks(execute=True):
            cancelled(workspace)
        delivery = retry_all(Delivery.objects.get(kind="slack"))
    finally:
        slack.stop()
    assert delivery.status == DeliveryStatus.DEAD
    assert delivery.attempts == attempts
    assert f"{status} from the receiver" in delivery.last_error
