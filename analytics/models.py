"""Rollups of cancel sessions, and the subscriber counts the host posts.

Raw sessions stay the source of truth. ``SessionRollup`` holds, per workspace and
day (in the workspace's time zone, by the day the session started), one row per
combination of the dimensions a dashboard filters or breaks down by, with the
count of sessions, the MRR they carry, and the seconds they took to complete.
The flow keeps it current with one upsert per change, in the change's own
transaction (``analytics.services.rollup_session_change``).

Each session always writes to the same ``shard`` (from its id), so concurrent
sessions with the same dimensions update different rows instead of queueing on
one hot counter row; ``rollups_compact`` folds the shards of settled days into
shard 0, which is all that a rebuild writes.

Days are also added up into weeks and months (``period``), and into rows summed
over every survey, plan and locale, over two of them or over one (``grain``), so
a long period, filtered or broken down by up to two of those, sums a few thousand
rows instead of one per day and combination: with millions of sessions that is
what keeps every dashboard call within milliseconds. To keep the flow's write
path to one small upsert, those rows are made for settled days only, by
``rollups_compact`` (``rollups_summarize``): they hold every day before
``RollupSummary.until``. A late change to such a day (a re-label, say) adds
itself to them too, in the same statement. Reads cover the summarised days with
whole months, weeks and days, and the days since with the day rows; any such
cover gives the same figures.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import models
from django.utils.translation import gettext_lazy as _

from workspaces.models import Workspace

ROLLUP_SHARDS = 8


class RollupPeriod(models.TextChoices):
    DAY = "day", _("Day")
    WEEK = "week", _("Week (Monday first)")
    MONTH = "month", _("Month")


def calendar_period_start(day: date, period: str) -> date:
    """The first day of the week (Monday) or month holding ``day``; the day itself
    for ``day``."""
    if period == RollupPeriod.MONTH:
        return day.replace(day=1)
    if period == RollupPeriod.WEEK:
        return day - timedelta(days=day.weekday())
    return day


class RollupGrain(models.TextChoices):
    """Which of survey, plan and locale a row keeps; it sums over the others."""

    DETAIL = "detail", _("Every survey, plan and locale apart")
    TOTAL = "total", _("Summed over surveys, plans and locales")
    SURVEY = "survey", _("By survey only")
    PLAN = "plan", _("By plan only")
    LOCALE = "locale", _("By locale only")
    SURVEY_PLAN = "survey_plan", _("By survey and plan")
    SURVEY_LOCALE = "survey_locale", _("By survey and locale")
    PLAN_LOCALE = "plan_locale", _("By plan and locale")


# The dimensions a grain keeps apart (the detail first), and the value a summed
# dimension holds in its rows.
GRAIN_KEEPS: dict[str, tuple[str, ...]] = {
    RollupGrain.DETAIL: ("survey_id", "plan", "locale"),
    RollupGrain.TOTAL: (),
    RollupGrain.SURVEY: ("survey_id",),
    RollupGrain.PLAN: ("plan",),
    RollupGrain.LOCALE: ("locale",),
    RollupGrain.SURVEY_PLAN: ("survey_id", "plan"),
    RollupGrain.SURVEY_LOCALE: ("survey_id", "locale"),
    RollupGrain.PLAN_LOCALE: ("plan", "locale"),
}
SUMMED_VALUE: dict[str, int | str] = {"survey_id": 0, "plan": "", "locale": ""}


def grain_for(dimensions: set[str]) -> str:
    """The coarsest grain that keeps every one of ``dimensions`` (of survey_id, plan
    and locale) apart."""
    covering = [grain for grain, keeps in GRAIN_KEEPS.items() if dimensions <= set(keeps)]
    return min(covering, key=lambda grain: len(GRAIN_KEEPS[grain]))


# The dimensions, in the order of the unique key (after workspace).
ROLLUP_DIMENSIONS = (
    "period",
    "grain",
    "day",
    "survey_id",
    "plan",
    "locale",
    "reason_code",
    "category_code",
    "offer_id",
    "outcome",
    "shard",
)
ROLLUP_MEASURES = ("sessions", "mrr_cents", "completed_seconds", "kept", "kept_mrr_cents")


class SessionRollup(models.Model):
    """Counts and sums of sessions for one combination of dimensions.

    ``period`` says what ``day`` stands for: that day, the week starting that
    Monday, or the month starting that first. ``grain`` says which of survey, plan
    and locale the row keeps apart; it sums over the others (``survey_id`` 0,
    ``plan`` and ``locale`` empty). Only the day rows in detail (``period`` day,
    ``grain`` detail) cover every day; the others cover the days before the
    workspace's ``RollupSummary.until``.
    ``reason_code``/``category_code`` are empty for sessions not answered yet,
    ``offer_id`` is 0 when no offer was shown, ``outcome`` is empty while the
    session is open. ``completed_seconds`` sums the time from start to a decision
    (saved or cancelled), for the average time to complete. ``kept`` and
    ``kept_mrr_cents`` count the saved sessions that kept their subscription
    without taking an offer ("keep my subscription"), and their MRR.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    period = models.CharField(max_length=5, choices=RollupPeriod.choices, default=RollupPeriod.DAY)
    grain = models.CharField(max_length=16, choices=RollupGrain.choices, default=RollupGrain.DETAIL)
    day = models.DateField()
    survey_id = models.BigIntegerField()
    plan = models.CharField(max_length=100)
    locale = models.CharField(max_length=10)
    reason_code = models.CharField(max_length=60)
    category_code = models.CharField(max_length=40)
    offer_id = models.BigIntegerField()
    outcome = models.CharField(max_length=10)
    shard = models.SmallIntegerField(default=0)
    sessions = models.BigIntegerField(default=0)
    mrr_cents = models.BigIntegerField(default=0)
    completed_seconds = models.BigIntegerField(default=0)
    # Of the row's sessions (outcome saved), those kept without taking an offer,
    # and their MRR: saved by an offer = sessions - kept.
    kept = models.BigIntegerField(default=0, db_default=0)
    kept_mrr_cents = models.BigIntegerField(default=0, db_default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", *ROLLUP_DIMENSIONS], name="session_rollup_key"
            )
        ]
        indexes = [
            # A read filtered by plan (and language) finds that plan's rows of a
            # period and grain without going through every plan's, whatever the
            # grain (the unique key has the days first). Not a partial index
            # (grain = 'detail'): a prepared statement's generic plan, which has the
            # grain as a parameter, could not use one.
            models.Index(
                fields=["workspace", "period", "grain", "plan", "locale", "day"],
                name="session_rollup_by_plan",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.reason_code or '-'} {self.outcome or 'open'}: {self.sessions}"


class RollupSummary(models.Model):
    """How far a workspace's week, month and coarser-grained rollups go: they hold
    every day before ``until`` (none while it is empty). Locked to move it, and by the
    flow's rare changes to days that old, so the two never cross."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="+", primary_key=True
    )
    until = models.DateField(null=True, blank=True)

    def __str__(self) -> str:
        return f"summarised until {self.until}"


class SubscriberCount(models.Model):
    """Subscribers the host had on a day, and how many of them were new that day.

    Posted by the host (``POST /api/v1/metrics/subscribers``); churn rate and
    customer retention rate are worked out from these (see DESIGN.md).
    """

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="subscriber_counts"
    )
    date = models.DateField()
    active = models.PositiveIntegerField(help_text=_("Active subscribers at the end of the day."))
    new = models.PositiveIntegerField(help_text=_("Subscribers who started that day."))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["workspace", "date"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "date"], name="subscriber_count_day")
        ]

    def __str__(self) -> str:
        return f"{self.date}: {self.active} active, {self.new} new"


class DigestRun(models.Model):
    """A weekly digest for one workspace and week: the unique key makes a repeated
    beat tick or a concurrent run claim the week once. ``queued_at`` is the claim:
    the transaction that sets it writes the digest's deliveries (``event``, one per
    channel); ``sent_at`` is set once every one of them has been sent. A run from
    before deliveries (no ``queued_at``, no ``sent_at``) had failed and is claimed
    again."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    week_start = models.DateField()
    recipients = models.JSONField(default=list)
    queued_at = models.DateTimeField(null=True, blank=True)
    event = models.ForeignKey(
        "outbound.OutboxEvent", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "week_start"], name="digest_once_a_week")
        ]

    def __str__(self) -> str:
        return f"digest of the week of {self.week_start}"
