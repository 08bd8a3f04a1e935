"""The weekly digest, against figures worked out by hand.

The workspace is in Los Angeles (UTC-8 in November), so local weeks differ from
UTC weeks. Local times (the digest's week is Mon 2026-11-16 .. Sun 11-22):

  previous week (Nov 9 .. 15)
  p1  Tue Nov 10 10:00  $20   too_expensive, offered, cancelled
  p2  Wed Nov 11 10:00  $20   too_expensive, offered, cancelled
  p3  Thu Nov 12 10:00  $50   missing_feature "wanted SSO", cancelled
  p4  Sun Nov 15 23:30  $60   switching, cancelled  (Monday 07:30 in UTC)
  the week
  c1  Mon Nov 16 09:00  $50   too_expensive, long text, offered, saved
  c2  Tue Nov 17 09:00  $30   too_expensive "expensive", offered, cancelled
  c3  Wed Nov 18 09:00  $30   too_expensive, no text, offered, cancelled
  c4  Thu Nov 19 09:00  $100  missing_feature, long text, cancelled
  c5  Fri Nov 20 09:00  $20   never answered, abandoned
  c6  Sun Nov 22 23:30  $40   quality "Too slow", cancelled  (Monday 07:30 in UTC)
  the week after
  n1  Mon Nov 23 00:30  $40   quality, the longest text of all, cancelled

The week: 6 started, 5 answered, 1 saved, 4 cancelled, 1 abandoned: save rate
1/6 = 17%; MRR saved $50; MRR lost 30 + 30 + 100 + 40 = $200. The week before:
4 started, 4 answered, save rate 0%, MRR saved $0, lost 20 + 20 + 50 + 60 = $150.
Answers by category: price 3 of 5 (60%, 2 the week before: +1), product quality
1 (20%, none before: new), missing features 1 (20%, 1 before: same).
"""

from __future__ import annotations

import io
import smtplib
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import translation
from django.utils.translation import gettext

from alerts.models import Channel, Team
from alerts.services import routing_defaults_create
from analytics.digest import digest_content, digest_recipients, digest_send, digests_send_due
from analytics.models import DigestRun
from analytics.tasks import digests_send_due as digests_send_due_task
from outbound.models import Delivery
from outbound.services import deliveries_sweep, delivery_attempt
from surveys.services import session_accept, session_answer, session_cancel, sessions_abandon_stale
from tests.factories import make_offer, make_session, make_workspace

WEEK = date(2026, 11, 16)
LONG_PRICE = "Too pricey for a team of three now that the discount ended"
LONG_FEATURE = "No API for exporting invoices, we had to build it ourselves"
NEXT_WEEK_TEXT = "Crashes every day and nobody fixed it for weeks, we lost a client over it"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def make_digest_team(workspace: Any, name: str, *targets: str, **fields: Any) -> Team:
    fields.setdefault("receives_digest", True)
    team = Team.objects.create(workspace=workspace, name=name, **fields)
    for target in targets:
        Channel.objects.create(team=team, kind="email", target=target)
    return team


@pytest.fixture
def history(db: None) -> dict[str, Any]:
    workspace = make_workspace(name="Acme", slug="acme", time_zone="America/Los_Angeles")
    offer = make_offer(workspace)  # 30% off for 3 months, shown for price
    sessions: dict[str, Any] = {}

    def answered(
        name: str, when: str, mrr: int, reason: str, text: str = "", outcome: str = "cancelled"
    ) -> None:
        session = make_session(workspace, mrr_cents=mrr, now=at(when))
        session = session_answer(token=session.token, reason_code=reason, text=text, now=at(when))
        if outcome == "saved":
            session = session_accept(token=session.token, offer_id=offer.pk, now=at(when))
        else:
            session = session_cancel(token=session.token, now=at(when))
        sessions[name] = session

    answered("p1", "2026-11-10T18:00", 2000, "too_expensive")
    answered("p2", "2026-11-11T18:00", 2000, "too_expensive")
    answered("p3", "2026-11-12T18:00", 5000, "missing_feature", "wanted SSO")
    answered("p4", "2026-11-16T07:30", 6000, "switching")
    answered("c1", "2026-11-16T17:00", 5000, "too_expensive", LONG_PRICE, outcome="saved")
    answered("c2", "2026-11-17T17:00", 3000, "too_expensive", "expensive")
    answered("c3", "2026-11-18T17:00", 3000, "too_expensive")
    answered("c4", "2026-11-19T17:00", 10000, "missing_feature", LONG_FEATURE)
    sessions["c5"] = make_session(workspace, mrr_cents=2000, now=at("2026-11-20T17:00"))
    sessions_abandon_stale(now=at("2026-11-22T00:00"))
    answered("c6", "2026-11-23T07:30", 4000, "quality", "Too slow")
    answered("n1", "2026-11-23T08:30", 4000, "quality", NEXT_WEEK_TEXT)
    return {"workspace": workspace, "sessions": sessions}


# --- What it says ------------------------------------------------------------------------


def test_top_reasons_and_their_change_against_the_week_before(history) -> None:
    content = digest_content(workspace=history["workspace"], week_start=WEEK)

    assert (content["week_start"], content["week_end"]) == (WEEK, date(2026, 11, 22))
    assert [
        (c["category"], c["sessions"], c["share"], c["previous"], c["delta"])
        for c in content["categories"]
    ] == [
        ("price", 3, 0.6, 2, 1),
        ("product_quality", 1, 0.2, 0, 1),
        ("missing_features", 1, 0.2, 1, 0),
    ]
    price = content["categories"][0]
    assert [(r["reason"], r["label"], r["sessions"], r["previous"]) for r in price["reasons"]] == [
        ("too_expensive", "It's too expensive", 3, 2)
    ]
    assert (content["answered"], content["previous_answered"]) == (5, 4)
    assert (content["started"], content["saved"], content["cancelled"], content["abandoned"]) == (
        6,
        1,
        4,
        1,
    )
    assert content["save_rate"] == 0.1667
    assert content["previous_save_rate"] == 0.0
    assert (content["mrr_saved_cents"], content["mrr_lost_cents"]) == (5000, 20000)
    assert content["previous_mrr_lost_cents"] == 15000
    assert content["url"] == "http://127.0.0.1:8000/app/acme/?from=2026-11-16&to=2026-11-22"


def test_verbatims_one_per_top_category_first_then_the_longest(history) -> None:
    content = digest_content(workspace=history["workspace"], week_start=WEEK)

    # Price's longest, then product quality's and missing features' only ones (in
    # the categories' order), then the rest; n1 (next week) and p3 (the week
    # before) are outside the week, c3 said nothing.
    assert [v["text"] for v in content["verbatims"]] == [
        LONG_PRICE,
        "Too slow",
        LONG_FEATURE,
        "expensive",
    ]
    first = content["verbatims"][0]
    assert (first["category"], first["outcome"], first["day"]) == (
        "price",
        "saved",
        date(2026, 11, 16),
    )


def test_at_most_five_verbatims(history) -> None:
    workspace = history["workspace"]
    for n in range(6):
        session = make_session(workspace, now=at(f"2026-11-21T1{n}:00"))
        session_answer(
            token=session.token,
            reason_code="too_complex",
            text=f"could not find the settings page, try {n}",
            now=at(f"2026-11-21T1{n}:00"),
        )

    content = digest_content(workspace=workspace, week_start=WEEK)

    assert content["categories"][0]["category"] == "too_complex"  # 6 answers now
    assert len(content["verbatims"]) == 5
    # One per top category first: too complex, price, product quality, missing features.
    assert [v["category"] for v in content["verbatims"][:4]] == [
        "too_complex",
        "price",
        "product_quality",
        "missing_features",
    ]


def test_a_session_on_sunday_night_belongs_to_its_local_week(history) -> None:
    workspace = history["workspace"]
    # c6 started Sunday 23:30 in Los Angeles (Monday in UTC): the week of the 16th.
    week = digest_content(workspace=workspace, week_start=WEEK)
    assert "product_quality" in [c["category"] for c in week["categories"]]
    # p4 started Sunday Nov 15 23:30 local (Monday Nov 16 in UTC): the week before.
    assert "competitor" not in [c["category"] for c in week["categories"]]
    before = digest_content(workspace=workspace, week_start=date(2026, 11, 9))
    assert [(c["category"], c["sessions"]) for c in before["categories"]] == [
        ("price", 2),
        ("competitor", 1),
        ("missing_features", 1),
    ]
    # Any day of the week means that week.
    assert digest_content(workspace=workspace, week_start=date(2026, 11, 22))["answered"] == 5


def test_the_email_says_it_plainly(history, mailoutbox) -> None:
    make_digest_team(history["workspace"], "Product", "product@acme.test")

    digest_send(workspace=history["workspace"], week_start=WEEK, now=at("2026-11-23T16:00"))

    [email] = mailoutbox
    assert email.subject == "Why customers left: week of 2026-11-16 (Acme)"
    assert email.to == ["product@acme.test"]
    body = email.body
    assert "Save rate: 17% (the week before: 0%)" in body
    assert "MRR saved: $50 (the week before: $0)" in body
    assert "MRR lost: $200 (the week before: $150)" in body
    assert "1. Price: 3 answers, 60% of answers, +1 against the week before (2)" in body
    assert "2. Product quality: 1 answer, 20% of answers, new this week" in body
    assert "3. Missing features: 1 answer, 20% of answers, same as the week before (1)" in body
    assert "   - It's too expensive: 3 (60%), +1 against the week before (2)" in body
    assert f'"{LONG_PRICE}"' in body
    assert "Price · It's too expensive · Pro · Saved by the offer · 2026-11-16" in body
    assert NEXT_WEEK_TEXT not in body
    link = "http://127.0.0.1:8000/app/acme/?from=2026-11-16&amp;to=2026-11-22"
    assert "http://127.0.0.1:8000/app/acme/?from=2026-11-16&to=2026-11-22" in body
    [(html, mimetype)] = email.alternatives
    assert mimetype == "text/html"
    assert f'href="{link}"' in html
    assert "<strong>Price</strong>" in html


def test_chinese_for_a_chinese_team(history, mailoutbox) -> None:
    make_digest_team(history["workspace"], "Product", "product@acme.test")
    make_digest_team(history["workspace"], "产品组", "cn@acme.test", locale="zh-hans")

    digest_send(workspace=history["workspace"], week_start=WEEK)

    by_to = {tuple(m.to): m for m in mailoutbox}
    assert set(by_to) == {("product@acme.test",), ("cn@acme.test",)}
    chinese = by_to[("cn@acme.test",)]
    with translation.override("zh-hans"):
        subject = gettext("Why customers left: week of %(week)s (%(workspace)s)") % {
            "week": "2026-11-16",
            "workspace": "Acme",
        }
    assert chinese.subject == subject
    assert "价格" in chinese.body  # Price
    assert "价格太贵了" in chinese.body  # the survey's own wording of too_expensive
    assert "产品质量" in chinese.body  # Product quality
    assert "通过优惠挽留成功" in chinese.body  # Saved by the offer
    assert "价格" not in by_to[("product@acme.test",)].body


# --- Who gets it ---------------------------------------------------------------------------


def test_recipients_are_the_digest_teams_enabled_email_channels(history, mailoutbox) -> None:
    workspace = history["workspace"]
    product = make_digest_team(workspace, "Product", "product@acme.test, Lead@acme.test")
    Channel.objects.create(team=product, kind="email", target="old@acme.test", is_enabled=False)
    Channel.objects.create(team=product, kind="slack", target="https://hooks.slack.com/x")
    make_digest_team(workspace, "Research", "lead@acme.test,research@acme.test")
    make_digest_team(workspace, "Support", "support@acme.test", receives_digest=False)
    make_digest_team(make_workspace(), "Product", "elsewhere@globex.test")

    assert digest_recipients(workspace=workspace) == [
        ("en", ["product@acme.test", "Lead@acme.test", "research@acme.test"])
    ]
    run = digest_send(workspace=workspace, week_start=WEEK)

    assert run is not None
    assert run.recipients == ["product@acme.test", "Lead@acme.test", "research@acme.test"]
    # One email per channel; an address on two teams' channels gets one copy.
    assert sorted(m.to for m in mailoutbox) == [
        ["product@acme.test", "Lead@acme.test"],
        ["research@acme.test"],
    ]


def test_nobody_to_tell_sends_and_records_nothing(history, mailoutbox) -> None:
    make_digest_team(history["workspace"], "Support", "support@acme.test", receives_digest=False)

    assert digest_send(workspace=history["workspace"], week_start=WEEK) is None

    assert mailoutbox == []
    assert not DigestRun.objects.exists()


def test_the_demo_product_team_receives_the_digest(db: None) -> None:
    workspace = make_workspace()
    teams = routing_defaults_create(workspace=workspace, email_domain="demo.example")

    assert {t.name: t.receives_digest for t in teams} == {
        "Customer success": False,
        "Support": False,
        "Product": True,
        "Billing": False,
    }
    assert digest_recipients(workspace=workspace) == [("en", ["product@demo.example"])]


# --- Once a week ----------------------------------------------------------------------------


def test_sent_once_per_week(history, mailoutbox) -> None:
    workspace = history["workspace"]
    make_digest_team(workspace, "Product", "product@acme.test")

    first = digest_send(workspace=workspace, week_start=WEEK, now=at("2026-11-23T16:00"))
    again = digest_send(workspace=workspace, week_start=date(2026, 11, 20))

    assert len(mailoutbox) == 1
    assert first is not None and again is not None
    assert again.pk == first.pk
    assert again.sent_at == at("2026-11-23T16:00")
    assert DigestRun.objects.get().week_start == WEEK


def test_a_failed_send_is_tried_again(history, mailoutbox, monkeypatch) -> None:
    workspace = history["workspace"]
    make_digest_team(workspace, "Product", "product@acme.test")

    def refuse(self: Any, messages: Any) -> int:
        raise smtplib.SMTPServerDisconnected("gone")

    with monkeypatch.context() as patch:
        patch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
        run = digest_send(workspace=workspace, week_start=WEEK)

    assert run is not None and run.sent_at is None
    assert mailoutbox == []
    [delivery] = Delivery.objects.filter(kind="digest")
    assert (delivery.status, delivery.attempts) == ("retry", 1)
    assert delivery.last_error == "SMTP: SMTPServerDisconnected: gone"
    assert delivery.attempt_log.get().ok is False

    # Another run finds the week claimed: its delivery, not a new one, tries again.
    digest_send(workspace=workspace, week_start=WEEK, now=at("2026-11-23T17:00"))
    assert mailoutbox == []
    assert Delivery.objects.count() == 1

    assert delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at) == "sent"
    assert len(mailoutbox) == 1
    assert mailoutbox[0].subject == "Why customers left: week of 2026-11-16 (Acme)"
    run = digest_send(workspace=workspace, week_start=WEEK)
    delivery.refresh_from_db()
    assert run is not None and run.sent_at == delivery.sent_at
    assert [a.ok for a in delivery.attempt_log.all()] == [False, True]


def test_a_run_without_sent_at_is_sent(history, mailoutbox) -> None:
    workspace = history["workspace"]
    make_digest_team(workspace, "Product", "product@acme.test")
    DigestRun.objects.create(workspace=workspace, week_start=WEEK)

    run = digest_send(workspace=workspace, week_start=WEEK)

    assert len(mailoutbox) == 1
    assert run is not None and run.sent_at is not None
    assert DigestRun.objects.count() == 1


# --- The beat task ----------------------------------------------------------------------------


def test_the_task_sends_on_monday_at_eight_local_time_and_not_before(
    history, mailoutbox, monkeypatch
) -> None:
    make_digest_team(history["workspace"], "Product", "product@acme.test")

    def tick(when: str) -> int:
        monkeypatch.setattr("django.utils.timezone.now", lambda: at(when))
        return digests_send_due_task.run()

    # Monday 08:00 UTC is still Monday 00:00 in Los Angeles; 15:59 UTC is 07:59.
    assert tick("2026-11-23T08:00") == 0
    assert tick("2026-11-23T15:59") == 0
    assert mailoutbox == []
    assert not DigestRun.objects.exists()

    assert tick("2026-11-23T16:00") == 1  # Monday 08:00 in Los Angeles
    [email] = mailoutbox
    assert email.subject == "Why customers left: week of 2026-11-16 (Acme)"
    assert DigestRun.objects.get().sent_at == at("2026-11-23T16:00")

    assert tick("2026-11-23T17:00") == 0
    assert len(mailoutbox) == 1


def test_the_hour_is_a_setting(history, mailoutbox, settings) -> None:
    settings.DIGEST_HOUR = 6
    make_digest_team(history["workspace"], "Product", "product@acme.test")

    assert digests_send_due(now=at("2026-11-23T13:59")) == []  # 05:59 local
    assert len(digests_send_due(now=at("2026-11-23T14:00"))) == 1  # 06:00 local
    assert len(mailoutbox) == 1


def test_a_digest_missed_on_monday_goes_out_later_that_week(
    history, mailoutbox, monkeypatch
) -> None:
    make_digest_team(history["workspace"], "Product", "product@acme.test")

    def refuse(self: Any, messages: Any) -> int:
        raise OSError("connection refused")

    monkeypatch.setattr("django.utils.timezone.now", lambda: at("2026-11-23T16:00"))
    with monkeypatch.context() as patch:
        patch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
        assert digests_send_due(now=at("2026-11-23T16:00")) == []  # logged, not raised

    # Tuesday: the delivery's retry is long due; the sweeper sends it, and the
    # beat tick finds the digest sent.
    monkeypatch.setattr("django.utils.timezone.now", lambda: at("2026-11-24T16:00"))
    deliveries_sweep()
    [run] = digests_send_due(now=at("2026-11-24T16:00"))  # Tuesday
    assert run.week_start == WEEK
    assert len(mailoutbox) == 1
    # The next Monday before eight, nothing new is due.
    assert digests_send_due(now=at("2026-11-30T15:00")) == []
    assert len(mailoutbox) == 1


# --- The command ----------------------------------------------------------------------------


def test_send_digest_dry_run_prints_it_and_sends_nothing(history, mailoutbox) -> None:
    make_digest_team(history["workspace"], "Product", "product@acme.test")
    out = io.StringIO()

    call_command("send_digest", workspace="acme", week="2026-11-18", dry_run=True, stdout=out)

    printed = out.getvalue()
    assert "Subject: Why customers left: week of 2026-11-16 (Acme)" in printed
    assert "To: product@acme.test" in printed
    assert "1. Price: 3 answers" in printed
    assert mailoutbox == []
    assert not DigestRun.objects.exists()


def test_send_digest_sends_once(history, mailoutbox) -> None:
    make_digest_team(history["workspace"], "Product", "product@acme.test")

    call_command("send_digest", workspace="acme", week="2026-11-16", stdout=io.StringIO())
    call_command("send_digest", workspace="acme", week="2026-11-16", stdout=io.StringIO())

    assert len(mailoutbox) == 1
