"""Exit surveys, the reasons they offer, and the cancel sessions that answer them."""

from __future__ import annotations

import secrets
import time

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from config.ids import uuid7
from workspaces.models import Workspace

LOCALES = [code for code, _name in settings.LANGUAGES]


class Category(models.Model):
    """One bucket of the churn-reason taxonomy; ``code`` is the key used everywhere.

    Each maps to the value Stripe accepts in ``cancellation_details.feedback``.
    The taxonomy is created by a data migration and shared by all workspaces.
    """

    code = models.SlugField(max_length=40, primary_key=True)
    position = models.PositiveSmallIntegerField(default=0)
    stripe_feedback = models.CharField(max_length=40)

    class Meta:
        ordering = ["position"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return str(self.label)

    @property
    def label(self) -> str:
        from surveys.taxonomy import category_label

        return str(category_label(self.code))


class Survey(models.Model):
    """A workspace's exit survey. ``version`` goes up whenever its reasons change;
    answers keep the wording and category they were given under."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="surveys")
    name = models.CharField(max_length=200)
    is_default = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    randomize_order = models.BooleanField(
        default=False, help_text="Shuffle reasons per session (the last 'other' stays last)."
    )
    # Per-locale question, e.g. {"en": "Why are you leaving?", "zh-hans": "…"}.
    question = models.JSONField(default=dict, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["workspace", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace"], condition=Q(is_default=True), name="one_default_survey"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} (v{self.version})"


class TextMode(models.TextChoices):
    NONE = "none", _("No text box")
    OPTIONAL = "optional", _("Optional text")
    REQUIRED = "required", _("Text required")


class Reason(models.Model):
    """One answer to 'why are you leaving?'. Retired, never deleted, once answered."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="reasons")
    code = models.SlugField(max_length=60)
    position = models.PositiveSmallIntegerField(default=0)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+")
    # {"en": "It's too expensive", "zh-hans": "价格太贵了"}
    label = models.JSONField(default=dict)
    follow_up = models.JSONField(default=dict, blank=True)
    text_mode = models.CharField(max_length=10, choices=TextMode.choices, default=TextMode.OPTIONAL)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["survey", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "code"], name="reason_code_unique")
        ]

    def __str__(self) -> str:
        return self.code


def new_session_token() -> str:
    """The customer's secret for the flow: the time in milliseconds (12 hex digits,
    so tokens made together sort together and the sessions being written share a
    few pages of the token's index, see ``config.ids``) and 256 random bits
    (``secrets.token_urlsafe(32)``, 43 characters), which are the secret. URL-safe,
    55 characters."""
    milliseconds = time.time_ns() // 1_000_000
    return f"{milliseconds & 0xFFFFFFFFFFFF:012x}{secrets.token_urlsafe(32)}"


class SessionStatus(models.TextChoices):
    STARTED = "started", _("Started")
    ANSWERED = "answered", _("Answered")
    OFFERED = "offered", _("Offered")
    COMPLETED = "completed", _("Completed")
    ABANDONED = "abandoned", _("Abandoned")


OPEN_STATUSES = (SessionStatus.STARTED, SessionStatus.ANSWERED, SessionStatus.OFFERED)


class Outcome(models.TextChoices):
    SAVED = "saved", _("Saved")
    CANCELLED = "cancelled", _("Cancelled")
    ABANDONED = "abandoned", _("Abandoned")


class CancelSession(models.Model):
    """One customer's trip through the cancel flow for one subscription."""

    # Time-ordered (config.ids): the sessions being written share the index's last pages.
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="sessions")
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="sessions")
    survey_version = models.PositiveIntegerField()
    # Unique by the constraint below: looked up by equality only, so without the
    # second (LIKE) index Django makes for a unique CharField on PostgreSQL.
    token = models.CharField(max_length=64, default=new_session_token)
    token_expires_at = models.DateTimeField()

    customer_id = models.CharField(max_length=200)
    customer_email = models.EmailField(blank=True)
    customer_name = models.CharField(max_length=200, blank=True)
    subscription_id = models.CharField(max_length=200)
    plan = models.CharField(max_length=100, blank=True)
    mrr_cents = models.PositiveBigIntegerField(default=0)
    currency = models.CharField(max_length=3, default="USD")
    subscription_started_at = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    locale = models.CharField(max_length=10, blank=True)
    return_url = models.URLField(max_length=2000, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=10, default="api")  # api | widget | demo

    status = models.CharField(
        max_length=10, choices=SessionStatus.choices, default=SessionStatus.STARTED
    )
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    # Saved without an offer: the customer chose "keep my subscription" (an offer
    # shown, if any, was not taken). False for every other outcome.
    kept = models.BooleanField(default=False, db_default=False)
    offer = models.ForeignKey(
        "offers.Offer", on_delete=models.PROTECT, null=True, blank=True, related_name="sessions"
    )
    # The experiment arm this customer was assigned to (null: not in an experiment).
    experiment_variant = models.ForeignKey(
        "offers.ExperimentVariant",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sessions",
    )
    # What the customer accepted, as applied: the offer's terms plus what they
    # chose (pause months) and the dates that follow (resume date, discount end).
    accepted_terms = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=200, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)

    created_at = models.DateTimeField(db_index=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    offered_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # When the customer's personal data was erased (by request or by retention):
    # the session keeps its counts, its id a pseudonym, and no personal data.
    personal_data_erased_at = models.DateTimeField(null=True, blank=True, editable=False)
    # A saved session's first cancellation (a subscription event of its
    # subscription, at or after the save), null while there is none: what the
    # saves figure reads to tell whether the save lasted a horizon. Kept by
    # offers.saves when the save is made and when a cancellation is recorded.
    save_cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # The name PostgreSQL gave the column's UNIQUE (surveys 0001).
            models.UniqueConstraint(fields=["token"], name="surveys_cancelsession_token_key"),
            models.UniqueConstraint(
                fields=["workspace", "subscription_id"],
                condition=Q(status__in=["started", "answered", "offered"]),
                name="one_open_session_per_subscription",
            ),
            models.UniqueConstraint(
                fields=["workspace", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="session_idempotency_key_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "-created_at"], name="session_ws_created"),
            models.Index(fields=["status", "created_at"], name="session_status_created"),
            # A customer's past outcomes (offer cooldown and uses per customer).
            models.Index(fields=["workspace", "customer_id"], name="session_ws_customer"),
            # Sessions in a currency other than the workspace's (a range either
            # side of it): the analytics keep their money apart (analytics.selectors
            # .currency).
            models.Index(
                fields=["workspace", "currency", "created_at"], name="session_ws_currency"
            ),
            # Saved sessions by the time of the save, with what the saves figure
            # groups by and whether they lasted (offers.saves): read index-only.
            models.Index(
                fields=["workspace", "completed_at"],
                include=["offer", "experiment_variant", "save_cancelled_at"],
                condition=Q(outcome="saved"),
                name="session_saved_lasting",
            ),
            # A subscription's saved sessions, which a cancellation of it may end.
            models.Index(
                fields=["workspace", "subscription_id"],
                condition=Q(outcome="saved"),
                name="session_saved_subscription",
            ),
            # Finished sessions still holding personal data, oldest first (retention).
            models.Index(
                fields=["completed_at"],
                condition=Q(personal_data_erased_at__isnull=True, completed_at__isnull=False),
                name="session_personal_data_held",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} / {self.subscription_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class SessionIdempotencyKey(models.Model):
    """An ``Idempotency-Key`` used to open a session, and what that request got.

    Every request with a key records it here in the transaction that opens (or
    finds) its session, so a repeat answers the same way and the same key with
    another body is a conflict, also when the first request found a session
    already open rather than making one.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    request_fingerprint = models.CharField(max_length=64, blank=True)
    session = models.ForeignKey(
        CancelSession, on_delete=models.CASCADE, related_name="idempotency_keys"
    )
    # The first request made the session (201) rather than finding it open (200).
    created = models.BooleanField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="session_idem_key_unique")
        ]

    def __str__(self) -> str:
        return self.key


class CategorySource(models.TextChoices):
    CHOICE = "choice", _("Chosen reason")
    RULE = "rule", _("Keyword rule")
    MODEL = "model", _("Classifier")
    MANUAL = "manual", _("Set by a team member")
    NONE = "none", _("No match: other, for review")


class Response(models.Model):
    """The customer's answer. Wording and category are copied at answer time, so
    editing the survey later never rewrites what a customer said."""

    session = models.OneToOneField(CancelSession, on_delete=models.CASCADE, related_name="response")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    reason = models.ForeignKey(Reason, on_delete=models.PROTECT, related_name="responses")
    reason_code = models.CharField(max_length=60)
    reason_label = models.CharField(max_length=300)
    survey_version = models.PositiveIntegerField()
    text = models.TextField(blank=True)
    locale = models.CharField(max_length=10)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+")
    category_source = models.CharField(
        max_length=10, choices=CategorySource.choices, default=CategorySource.CHOICE
    )
    category_confidence = models.FloatField(default=1.0)
    model_version = models.CharField(max_length=40, blank=True)
    # Categorised with low confidence: a team member should look at it.
    needs_review = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The session's start (it never changes), copied so the customers' words can be
    # read newest first within a period and a filter from this table's indexes
    # alone, without walking every session of the period.
    session_created_at = models.DateTimeField()
    # The session's plan (fixed when it opened), copied for the same reason: the
    # words of one plan, newest first, without looking up each answer's session.
    plan = models.CharField(max_length=100, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "category"], name="response_ws_category"),
            models.Index(
                fields=["workspace", "-session_created_at"],
                condition=~Q(text=""),
                name="response_words",
            ),
            models.Index(
                fields=["workspace", "category", "-session_created_at"],
                condition=~Q(text=""),
                name="response_words_category",
            ),
            models.Index(
                fields=["workspace", "reason_code", "-session_created_at"],
                condition=~Q(text=""),
                name="response_words_reason",
            ),
            models.Index(
                fields=["workspace", "plan", "-session_created_at"],
                condition=~Q(text=""),
                name="response_words_plan",
            ),
            models.Index(
                fields=["workspace", "created_at"],
                condition=Q(needs_review=True),
                name="response_review_queue",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reason_code}: {self.text[:40]}"


class CategoryRule(models.Model):
    """A workspace's own keyword or phrase for a category, on top of the default
    lexicon. ``*`` at the end matches any ending ("invoic*")."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="category_rules"
    )
    phrase = models.CharField(max_length=100)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+")
    weight = models.FloatField(default=3.0, help_text="Default-lexicon phrases weigh 1 to 3.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["workspace", "category", "phrase"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "phrase"], name="category_rule_unique")
        ]

    def __str__(self) -> str:
        return f"{self.phrase} → {self.category_id}"


class Competitor(models.Model):
    """A product customers leave for; answers naming it (or an alias) are tagged."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="competitors")
    name = models.CharField(max_length=100)
    # Other spellings, in any language: ["acme.io", "艾克米"].
    aliases = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["workspace", "name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="competitor_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class CompetitorMention(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    response = models.ForeignKey(
        Response, on_delete=models.CASCADE, related_name="competitor_mentions"
    )
    competitor = models.ForeignKey(Competitor, on_delete=models.CASCADE, related_name="mentions")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["response", "competitor"], name="one_mention_per_response"
            )
        ]
        indexes = [models.Index(fields=["workspace", "created_at"], name="mention_ws_created")]

    def __str__(self) -> str:
        return f"{self.competitor} in response {self.response_id}"


class ClassifierModel(models.Model):
    """A trained free-text classifier for one workspace; the newest version is used."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="classifiers")
    version = models.PositiveIntegerField()
    trained_at = models.DateTimeField()
    examples = models.PositiveIntegerField()
    # Labelled answers counted when it was trained (to know when to retrain).
    labels_seen = models.PositiveIntegerField()
    parameters = models.JSONField()

    class Meta:
        ordering = ["workspace", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "version"], name="classifier_version")
        ]

    def __str__(self) -> str:
        return f"{self.workspace_id} v{self.version} ({self.examples} examples)"

    @property
    def label(self) -> str:
        kind = (self.parameters or {}).get("kind", "")
        if kind.startswith("embedding"):
            return f"emb-v{self.version}"
        return f"{'lr' if kind.startswith('logistic') else 'nb'}-v{self.version}"
