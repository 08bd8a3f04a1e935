"""The weekly digest: why customers left last week, emailed to the product team.

- ``digest_content`` reads one week's figures (Monday to Sunday in the workspace's
  time zone) through ``analytics.selectors``: the top categories and their leading
  reasons with count, share and the change against the week before; the save
  rate and the MRR saved and lost; and a few telling verbatims.
- ``digest_send`` emails it once per workspace and week, as deliveries like an
  alert's: one short transaction claims the week (the ``DigestRun`` row, unique
  per workspace and week, gets ``queued_at``) and writes one delivery per digest
  channel, the email frozen in them (written before the claim, in each team's
  language). The first tries go out after the commit, never under the row lock;
  a failed channel is retried alone by the delivery machinery (backoff, recorded
  attempts, dead after the last, ``GET /api/v1/deliveries?status=dead``). A
  repeated or concurrent run finds the week claimed and writes nothing;
  ``sent_at`` is set once every channel has been sent, and the frozen bodies
  (customers' words) are then dropped, the subjects kept.
- ``digests_send_due`` (Celery beat, hourly) sends every workspace's digest of the
  last complete week once its local time has reached Monday ``DIGEST_HOUR``.

Recipients are the email channels of the teams with ``receives_digest``; each
team's locale (en, zh-hans) decides the language of its copy.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from analytics.models import DigestRun
from analytics.selectors.filters import AnalyticsFilters
from analytics.selectors.funnel import headline
from analytics.selectors.reasons import reasons
from analytics.selectors.verbatims import verbatims
from analytics.transports import DIGEST_KIND
from offers.presentation import format_money
from outbound.models import Delivery
from outbound.registry import Recipient, audience
from outbound.services import (
    deliveries_send,
    deliveries_write,
    delivery_new,
    event_create,
    event_deliveries,
    event_payload_update,
)
from outbound.transports.mail import header_text
from surveys.models import Response
from workspaces.models import Workspace

log = logging.getLogger(__name__)

TOP_CATEGORIES = 5
TOP_REASONS = 3
MAX_VERBATIMS = 5
# The newest answers with words considered for the verbatims.
VERBATIM_POOL = 200
# Longer is more telling, up to this length; past it, the newer answer wins.
VERBATIM_LENGTH_CAP = 280
VERBATIM_SHOWN_CHARS = 400
# The digest's event type: written already expanded, one delivery per recipient.
# Not an event type host endpoints can subscribe to.
DIGEST_EVENT = "digest.weekly"
# Who receives it: an audience another app provides (``outbound.registry``;
# alerts: the email channels of the teams with ``receives_digest``).
DIGEST_AUDIENCE = "digest"


def week_of(day: date) -> date:
    """The Monday of the week ``day`` falls in."""
    return day - timedelta(days=day.weekday())


def digest_filters(week_start: date) -> AnalyticsFilters:
    monday = week_of(week_start)
    return AnalyticsFilters(date_from=monday, date_to=monday + timedelta(days=6))


def digest_url(workspace: Workspace, week_start: date) -> str:
    """The dashboard, filtered to the week."""
    path = reverse("app-workspace", args=[workspace.slug])
    query = urlencode(digest_filters(week_start).as_params())
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}{path}?{query}"


# --- Reading ---------------------------------------------------------------------------


def digest_content(
    *, workspace: Workspace, week_start: date, locale: str | None = None
) -> dict[str, Any]:
    """The week's figures (a read; nothing is written).

    ``week_start`` may be any day of the week; the week is Monday to Sunday in the
    workspace's time zone. Labels are in ``locale`` (default: the workspace's).
    """
    locale = locale or workspace.default_locale
    filters = digest_filters(week_start)
    by_reason = reasons(workspace=workspace, filters=filters, locale=locale)
    figures = headline(workspace=workspace, filters=filters)
    reason_labels = {r["reason"]: r["label"] for c in by_reason["categories"] for r in c["reasons"]}
    category_labels = {c["category"]: c["label"] for c in by_reason["categories"]}
    top = by_reason["categories"][:TOP_CATEGORIES]
    categories = [
        {
            "category": c["category"],
            "label": c["label"],
            "sessions": c["sessions"],
            "share": c["share"],
            "previous": c["previous"],
            "delta": c["sessions"] - c["previous"],
            "change": c["change"],
            "reasons": [
                {
                    "reason": r["reason"],
                    "label": r["label"],
                    "sessions": r["sessions"],
                    "share": r["share"],
                    "previous": r["previous"],
                    "delta": r["sessions"] - r["previous"],
                }
                for r in c["reasons"][:TOP_REASONS]
            ],
        }
        for c in top
    ]
    zone = ZoneInfo(workspace.time_zone)
    chosen = _telling_verbatims(workspace, filters, [c["category"] for c in top])
    return {
        "workspace": workspace.name,
        "week_start": filters.date_from,
        "week_end": filters.date_to,
        "locale": locale,
        "currency": workspace.currency,
        "started": figures["started"],
        "previous_started": figures["previous"]["started"],
        "answered": by_reason["answered"],
        "previous_answered": by_reason["previous_answered"],
        "saved": figures["saved"],
        "cancelled": figures["cancelled"],
        "abandoned": figures["abandoned"],
        "save_rate": figures["save_rate"],
        "previous_save_rate": figures["previous"]["save_rate"],
        "mrr_saved_cents": figures["mrr_saved_cents"],
        "previous_mrr_saved_cents": figures["previous"]["mrr_saved_cents"],
        "mrr_lost_cents": figures["mrr_lost_cents"],
        "previous_mrr_lost_cents": figures["previous"]["mrr_lost_cents"],
        "categories": categories,
        "verbatims": [
            {
                "response": answer.pk,
                "text": answer.text,
                "category": answer.category_id,
                "category_label": category_labels.get(answer.category_id, answer.category_id),
                "reason": answer.reason_code,
                "reason_label": reason_labels.get(answer.reason_code, answer.reason_label),
                "plan": answer.session.plan,
                "outcome": answer.session.outcome,
                "kept": answer.session.kept,
                "day": answer.session.created_at.astimezone(zone).date(),
            }
            for answer in chosen
        ],
        "url": digest_url(workspace, filters.date_from),
    }


def _telling_verbatims(
    workspace: Workspace, filters: AnalyticsFilters, categories: list[str]
) -> list[Response]:
    """Up to ``MAX_VERBATIMS`` answers with words, from the top categories: the
    most telling of each category first (in the categories' order), then the most
    telling of the rest. Longer is more telling; among equals, newer wins."""
    if not categories:
        return []
    pool = list(
        verbatims(workspace=workspace, filters=filters).filter(category_id__in=categories)[
            :VERBATIM_POOL
        ]
    )
    # The pool is newest first and sorted() is stable, so ties stay newest first.
    ranked = sorted(pool, key=lambda a: -min(len(a.text.strip()), VERBATIM_LENGTH_CAP))
    chosen: list[Response] = []
    for code in categories:
        best = next((a for a in ranked if a.category_id == code), None)
        if best is not None and len(chosen) < MAX_VERBATIMS:
            chosen.append(best)
    for answer in ranked:
        if len(chosen) >= MAX_VERBATIMS:
            break
        if answer not in chosen:
            chosen.append(answer)
    return chosen


def digest_audience(*, workspace: Workspace) -> list[Recipient]:
    """Who receives the digest, one entry per delivery: its key, language and
    addresses (each address once)."""
    return audience(DIGEST_AUDIENCE, workspace=workspace)


def digest_recipients(*, workspace: Workspace) -> list[tuple[str, list[str]]]:
    """Who receives the digest, grouped by language."""
    by_locale: dict[str, list[str]] = {}
    for recipient in digest_audience(workspace=workspace):
        by_locale.setdefault(recipient.locale, []).extend(recipient.addresses)
    return list(by_locale.items())


# --- Writing it ------------------------------------------------------------------------


def _percent(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{int(value * 100 + 0.5)}%"


def _signed(n: int) -> str:
    return f"{n:+d}"


def _against_before(now: int, previous: int) -> str:
    if not previous:
        return _("new this week")
    if now == previous:
        return _("same as the week before (%(previous)s)") % {"previous": previous}
    return _("%(delta)s against the week before (%(previous)s)") % {
        "delta": _signed(now - previous),
        "previous": previous,
    }


def _outcome_label(outcome: str, kept: bool = False) -> str:
    if outcome == "saved" and kept:
        return _("Kept without an offer")
    return {
        "saved": _("Saved by the offer"),
        "cancelled": _("Cancelled"),
        "abandoned": _("Left the cancel flow unfinished"),
    }.get(outcome, _("Still deciding"))


def digest_context(content: dict[str, Any]) -> dict[str, Any]:
    """What the templates show: every string translated, every number formatted
    plainly. Call inside ``translation.override`` of the content's locale."""
    currency = content["currency"]

    def answers(n: int) -> str:
        return ngettext("%(count)s answer", "%(count)s answers", n) % {"count": n}

    categories = [
        {
            "label": c["label"],
            "count": answers(c["sessions"]),
            "share": _("%(share)s of answers") % {"share": _percent(c["share"])},
            "change": _against_before(c["sessions"], c["previous"]),
            "reasons": [
                {
                    "label": r["label"],
                    "count": str(r["sessions"]),
                    "share": _percent(r["share"]),
                    "change": _against_before(r["sessions"], r["previous"]),
                }
                for r in c["reasons"]
            ],
        }
        for c in content["categories"]
    ]
    quotes = [
        {
            "text": Truncator(v["text"].strip()).chars(VERBATIM_SHOWN_CHARS),
            "about": " · ".join(
                part
                for part in (
                    v["category_label"],
                    v["reason_label"],
                    v["plan"],
                    _outcome_label(v["outcome"], bool(v.get("kept"))),
                    v["day"].isoformat(),
                )
                if part
            ),
        }
        for v in content["verbatims"]
    ]

    def before(value: str) -> str:
        return _("the week before: %(value)s") % {"value": value}

    figures = [
        (
            _("Sessions started"),
            str(content["started"]),
            before(str(content["previous_started"])),
        ),
        (
            _("Answers"),
            str(content["answered"]),
            before(str(content["previous_answered"])),
        ),
        (
            _("Save rate"),
            _percent(content["save_rate"]),
            before(_percent(content["previous_save_rate"])),
        ),
        (
            _("MRR saved"),
            format_money(content["mrr_saved_cents"], currency),
            before(format_money(content["previous_mrr_saved_cents"], currency)),
        ),
        (
            _("MRR lost"),
            format_money(content["mrr_lost_cents"], currency),
            before(format_money(content["previous_mrr_lost_cents"], currency)),
        ),
    ]
    week = content["week_start"].isoformat()
    return {
        "subject": _("Why customers left: week of %(week)s (%(workspace)s)")
        % {"week": week, "workspace": content["workspace"]},
        "period": _("%(start)s to %(end)s")
        % {"start": week, "end": content["week_end"].isoformat()},
        "figures": [{"label": f[0], "value": f[1], "before": f[2]} for f in figures],
        "categories": categories,
        "quotes": quotes,
        "url": content["url"],
        "labels": {
            "top_reasons": _("Top reasons"),
            "no_answers": _("No one answered the exit survey this week."),
            "words": _("In their words"),
            "open": _("Open the dashboard for this week"),
            "why": _(
                "You receive this digest because your team in %(workspace)s receives "
                "the weekly digest."
            )
            % {"workspace": content["workspace"]},
        },
    }


def digest_message(
    *, workspace: Workspace, week_start: date, locale: str, to: list[str]
) -> EmailMultiAlternatives:
    """The digest email (text and HTML) in ``locale``, not sent."""
    with translation.override(locale):
        content = digest_content(workspace=workspace, week_start=week_start, locale=locale)
        context = digest_context(content)
        message = EmailMultiAlternatives(
            subject=header_text(context["subject"]),
            body=render_to_string("analytics/email/digest.txt", context),
            to=to,
        )
        message.attach_alternative(
            render_to_string("analytics/email/digest.html", context), "text/html"
        )
    return message


# --- Services ---------------------------------------------------------------------------


def digest_written(*, workspace: Workspace, week_start: date, locale: str) -> dict[str, str]:
    """The digest email in ``locale`` as the delivery keeps it: subject, text, HTML."""
    message = digest_message(workspace=workspace, week_start=week_start, locale=locale, to=[])
    [(html, _mimetype)] = message.alternatives
    return {"subject": str(message.subject), "text": str(message.body), "html": str(html)}


def _settle(run: DigestRun) -> DigestRun:
    """Set ``sent_at`` once every delivery of a claimed run has been sent (by its
    first try or a later retry)."""
    if run.sent_at is not None or run.event_id is None:
        return run
    sent = list(event_deliveries(event_id=run.event_id).values_list("status", "sent_at"))
    if sent and all(status == "sent" and at is not None for status, at in sent):
        _sent(run, max(at for _status, at in sent if at is not None))
    return run


def _sent(run: DigestRun, at: datetime) -> None:
    """Every channel has its copy: the run is sent, and the frozen bodies (which
    quote customers' words) are dropped from the event."""
    with transaction.atomic():
        run.sent_at = at
        run.save(update_fields=["sent_at"])
        if run.event_id is not None:
            digest_bodies_drop(event_id=run.event_id)


def _bodies_dropped(payload: dict[str, Any]) -> dict[str, Any]:
    messages = payload.get("messages", {})
    return {
        **payload,
        "messages": {
            locale: {"subject": message.get("subject", "")} for locale, message in messages.items()
        },
    }


def digest_bodies_drop(*, event_id: int) -> None:
    """Once every recipient has its copy, drop the frozen bodies (they quote
    customers' words); the subjects stay as the record of what was sent."""
    event_payload_update(event_id=event_id, event_type=DIGEST_EVENT, change=_bodies_dropped)


def digest_deliveries_create(
    *,
    workspace: Workspace,
    week_start: date,
    messages: dict[str, dict[str, str]],
    recipients: list[Recipient],
    now: datetime,
) -> list[Delivery]:
    """Write the digest's event (the emails frozen in its payload: ``messages``
    by language, each with ``subject``, ``text`` and ``html``), already expanded,
    and one pending delivery per recipient, keyed as the audience keys it (the
    key holds each recipient to one delivery of the week's event). Call inside
    the transaction that claims the week; nothing is sent here."""
    payload: dict[str, Any] = {
        "type": DIGEST_EVENT,
        "week_start": week_start.isoformat(),
        "messages": messages,
        "recipients": {r.key: {"locale": r.locale, "to": r.addresses} for r in recipients},
    }
    event = event_create(
        workspace_id=workspace.pk,
        event_type=DIGEST_EVENT,
        payload=payload,
        now=now,
        expanded=True,
    )
    return deliveries_write(
        [delivery_new(event, kind=DIGEST_KIND, key=r.key, now=now) for r in recipients],
        # Pending, no task: the caller sends the first tries after its commit,
        # and the sweeper finds them if it dies first.
        taken=0,
        queue=False,
    )


def digest_unsent(run: DigestRun) -> list[tuple[str, str, str]]:
    """The run's deliveries not sent yet: (addresses, status, last error)."""
    if run.event_id is None:
        return []
    return [
        (delivery.target, delivery.status, delivery.last_error)
        for delivery in event_deliveries(event_id=run.event_id).select_related("event")
        if delivery.status != "sent"
    ]


def _claimed(run: DigestRun | None) -> bool:
    return run is not None and (run.queued_at is not None or run.sent_at is not None)


def digest_send(
    *, workspace: Workspace, week_start: date, now: datetime | None = None
) -> DigestRun | None:
    """Send the digest of the week of ``week_start`` to the workspace's digest
    channels, once: one delivery per channel, like an alert's.

    The week is claimed in one short transaction (the ``DigestRun`` row, locked,
    gets ``queued_at``) that also writes the deliveries, with the email written
    beforehand and frozen in them; the first tries are sent after it commits, never
    with the row locked. A failed channel is retried by the delivery machinery
    (backoff, every try recorded, dead after the last) and only that channel; a
    repeated or concurrent run finds the week claimed and writes nothing.

    Returns the ``DigestRun`` (``sent_at`` set once every channel has been sent,
    now or before), or None when nobody receives the digest (nothing is recorded
    then). Call it outside any transaction (beat, the command).
    """
    now = now or timezone.now()
    week_start = week_of(week_start)
    run = DigestRun.objects.filter(workspace=workspace, week_start=week_start).first()
    if _claimed(run):
        return _settle(run)  # type: ignore[arg-type]
    recipients = digest_audience(workspace=workspace)
    if not recipients:
        return None
    everyone = [address for recipient in recipients for address in recipient.addresses]
    # Written before the claim, so the transaction holds its lock only for the inserts.
    locales = list(dict.fromkeys(recipient.locale for recipient in recipients))
    messages = {
        locale: digest_written(workspace=workspace, week_start=week_start, locale=locale)
        for locale in locales
    }
    with transaction.atomic():
        run, created = DigestRun.objects.get_or_create(
            workspace=workspace, week_start=week_start, defaults={"recipients": everyone}
        )
        if not created:
            # A concurrent run waits here, then finds the week claimed.
            run = DigestRun.objects.select_for_update().get(pk=run.pk)
            if _claimed(run):
                return run
        deliveries = digest_deliveries_create(
            workspace=workspace,
            week_start=week_start,
            messages=messages,
            recipients=recipients,
            now=now,
        )
        run.recipients = everyone
        run.queued_at = now
        run.event_id = deliveries[0].event_id
        run.save(update_fields=["recipients", "queued_at", "event"])
    # The first tries, after the claim has committed: what fails is retried alone.
    statuses = deliveries_send(deliveries=deliveries)
    if statuses and all(status == "sent" for status in statuses):
        _sent(run, now)
        log.info(
            "Sent the digest of the week of %s for %s to %d recipient(s).",
            week_start,
            workspace.slug,
            len(everyone),
        )
    else:
        log.warning(
            "The digest of the week of %s for %s is not sent to every channel yet (%s); "
            "the deliveries retry it.",
            week_start,
            workspace.slug,
            ", ".join(statuses),
        )
    return run


def digest_week_due(*, workspace: Workspace, now: datetime) -> date | None:
    """The week whose digest is due at ``now``: the last complete week, once the
    workspace's local time has reached Monday ``DIGEST_HOUR``. Until then, None (the
    week before was due last Monday). A digest not sent on Monday (beat down, mail
    failing) is still due for the rest of the week."""
    local = now.astimezone(ZoneInfo(workspace.time_zone))
    if local.weekday() == 0 and local.hour < settings.DIGEST_HOUR:
        return None
    return week_of(local.date()) - timedelta(days=7)


def digests_send_due(*, now: datetime | None = None) -> list[DigestRun]:
    """Send every digest that is due and not sent yet (what beat runs hourly).
    Returns the runs sent to every channel by now (a run whose retries finished
    since the last tick is counted once, when this tick finds it). One workspace's
    failure to claim does not stop the others; it is tried again next hour."""
    now = now or timezone.now()
    due: list[tuple[Workspace, date]] = []
    for workspace in Workspace.objects.order_by("pk"):
        week = digest_week_due(workspace=workspace, now=now)
        if week is not None:
            due.append((workspace, week))
    if not due:
        return []
    already = set(
        DigestRun.objects.filter(
            workspace_id__in=[w.pk for w, _week in due],
            week_start__in={week for _w, week in due},
            sent_at__isnull=False,
        ).values_list("workspace_id", "week_start")
    )
    sent: list[DigestRun] = []
    for workspace, week in due:
        if (workspace.pk, week) in already:
            continue
        try:
            run = digest_send(workspace=workspace, week_start=week, now=now)
        except Exception:
            log.exception(
                "The digest of the week of %s for %s failed; retrying next hour.",
                week,
                workspace.slug,
            )
            continue
        if run is not None and run.sent_at is not None:
            sent.append(run)
    return sent
