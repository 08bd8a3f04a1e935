"""Save offers a customer may see once, after answering the exit survey; the
rules that decide who sees which; and experiments comparing offers."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from surveys.rules import TARGETING, conditions_validate, is_whole_number
from workspaces.models import Workspace


class OfferKind(models.TextChoices):
    DISCOUNT_PERCENT = "discount_percent", _("Percent discount")
    DISCOUNT_AMOUNT = "discount_amount", _("Fixed-amount discount")
    PAUSE = "pause", _("Pause")
    DOWNGRADE = "downgrade", _("Downgrade")
    EXTENSION = "extension", _("Free extension")
    TRIAL_EXTENSION = "trial_extension", _("Trial extension")
    SUPPORT = "support", _("Talk to support")


# The whole-number terms each kind needs: name -> (minimum, maximum).
TERM_FIELDS: dict[str, dict[str, tuple[int, int]]] = {
    OfferKind.DISCOUNT_PERCENT: {"percent": (1, 100), "months": (1, 36)},
    OfferKind.DISCOUNT_AMOUNT: {"amount_cents": (1, 10**9), "months": (1, 36)},
    OfferKind.PAUSE: {"max_months": (1, 12)},
    OfferKind.DOWNGRADE: {"price_cents": (0, 10**9)},
    OfferKind.EXTENSION: {"days": (1, 365)},
    OfferKind.TRIAL_EXTENSION: {"days": (1, 365)},
    OfferKind.SUPPORT: {},
}
# Terms a kind may have but does not need.
OPTIONAL_TERMS: dict[str, dict[str, tuple[int, int]]] = {
    OfferKind.PAUSE: {"min_months": (1, 12)},
}
TEXT_TERMS: dict[str, dict[str, bool]] = {
    # name -> required
    OfferKind.DOWNGRADE: {"plan": True, "stripe_price": False},
}


def validate_terms(kind: str, terms: Any) -> dict[str, Any]:
    """Return the errors in ``terms`` for ``kind``, by field (empty when valid).

    Unknown names are refused too: a typo ("percnt") must not silently give a
    different offer than the one the team meant.
    """
    if kind not in OfferKind.values:
        return {"kind": f"unknown kind {kind!r}"}
    if not isinstance(terms, dict):
        return {"terms": "must be an object"}
    errors: dict[str, Any] = {}
    required = TERM_FIELDS.get(kind, {})
    optional = OPTIONAL_TERMS.get(kind, {})
    texts = TEXT_TERMS.get(kind, {})
    for name, (low, high) in required.items():
        value: Any = terms.get(name)
        if not is_whole_number(value):
            errors[name] = f"a whole number from {low} to {high} is required"
        elif not low <= value <= high:
            errors[name] = f"must be from {low} to {high}"
    for name, (low, high) in optional.items():
        if name in terms and terms[name] is not None:
            value = terms[name]
            if not is_whole_number(value) or not low <= value <= high:
                errors[name] = f"a whole number from {low} to {high}, or left out"
    for name, needed in texts.items():
        value = terms.get(name, "")
        if not isinstance(value, str) or len(value) > 100:
            errors[name] = "text of at most 100 characters"
        elif needed and not value.strip():
            errors[name] = "required"
    stripe_price = str(terms.get("stripe_price") or "").strip()
    if kind == OfferKind.DOWNGRADE and stripe_price and not stripe_price.startswith("price_"):
        errors["stripe_price"] = "a Stripe price id (price_…)"
    if (
        kind == OfferKind.PAUSE
        and not errors
        and terms.get("min_months") is not None
        and terms["min_months"] > terms["max_months"]
    ):
        errors["min_months"] = "must not be above max_months"
    unknown = sorted(set(terms) - set(required) - set(optional) - set(texts))
    for name in unknown:
        errors[name] = "not a term of this kind of offer"
    return errors


def billing_terms_errors(workspace: Workspace, kind: str, terms: Any) -> dict[str, str]:
    """What applying the offer in the workspace's billing needs on top of valid
    terms: with Stripe on, a downgrade names the Stripe price to move to."""
    if (
        workspace.stripe_enabled
        and kind == OfferKind.DOWNGRADE
        and isinstance(terms, dict)
        and not str(terms.get("stripe_price") or "").strip()
    ):
        return {"stripe_price": "required while this workspace applies outcomes in Stripe"}
    return {}


def pause_bounds(terms: dict[str, Any]) -> tuple[int, int]:
    """The months a customer may pick for a pause offer: (lowest, highest)."""
    return int(terms.get("min_months") or 1), int(terms.get("max_months") or 1)


class Offer(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="offers")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=OfferKind.choices)
    # Machine-readable terms, e.g. {"percent": 30, "months": 3}; sent to the host.
    terms = models.JSONField(default=dict, blank=True)
    # Per locale: {"en": {"title": "…", "body": "…"}, "zh-hans": {…}}
    copy = models.JSONField(default=dict, blank=True)
    priority = models.PositiveSmallIntegerField(default=100, help_text="Lower is tried first.")
    # How many times one customer may accept this offer, ever (empty: no cap).
    max_uses_per_customer = models.PositiveSmallIntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workspace", "priority", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = validate_terms(self.kind, self.terms if self.terms is not None else {})
        if not errors and self.workspace_id is not None:
            errors = billing_terms_errors(self.workspace, self.kind, self.terms)
        if errors:
            raise ValidationError({"terms": [f"{k}: {v}" for k, v in errors.items()]})
        if self.max_uses_per_customer == 0:
            raise ValidationError({"max_uses_per_customer": "leave it empty for no cap"})


class ExperimentStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    STOPPED = "stopped", _("Stopped")


class Experiment(models.Model):
    """Offers compared on the customers a rule matches: each customer gets one
    variant (always the same one). Stopped, the rule shows the winner's offer."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="experiments")
    name = models.CharField(max_length=200)
    status = models.CharField(
        max_length=10, choices=ExperimentStatus.choices, default=ExperimentStatus.RUNNING
    )
    winner = models.ForeignKey(
        "offers.ExperimentVariant",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["workspace", "-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        winner = self.winner if self.winner_id is not None else None
        if winner is not None and self.pk and winner.experiment_id != self.pk:
            raise ValidationError(
                {"winner": "the winner must be one of this experiment's variants"}
            )
        if self.status == ExperimentStatus.STOPPED and self.winner_id is None:
            raise ValidationError({"winner": "a stopped experiment keeps a winner"})


class ExperimentVariant(models.Model):
    """One arm: an offer, or none (the no-offer control)."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(max_length=100)
    offer = models.ForeignKey(
        Offer, on_delete=models.PROTECT, null=True, blank=True, related_name="variants"
    )
    weight = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["experiment", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_control(self) -> bool:
        return self.offer_id is None


def offer_rule_errors(
    *,
    workspace_id: int | None,
    offer: Offer | None,
    experiment: Experiment | None,
    **conditions: Any,
) -> dict[str, str]:
    """The problems with a rule's target and conditions, by field (empty when
    valid): a target in another workspace or two targets, and what the rule
    engine refuses in the conditions (contradictions such as a minimum above its
    maximum, unknown categories or languages)."""
    errors: dict[str, str] = {}
    if offer is not None and experiment is not None:
        errors["experiment"] = "a rule shows one offer or runs one experiment, not both"
    if offer is not None and workspace_id is not None and offer.workspace_id != workspace_id:
        errors["offer"] = "not an offer of this workspace"
    if (
        experiment is not None
        and workspace_id is not None
        and experiment.workspace_id != workspace_id
    ):
        errors["experiment"] = "not an experiment of this workspace"
    unknown = set(conditions) - set(TARGETING.allowed)
    if unknown:
        raise TypeError(f"Not conditions of a targeting rule: {sorted(unknown)}")
    errors.update(conditions_validate(TARGETING, conditions))
    return errors


class OfferRule(models.Model):
    """Who sees which offer. Rules are tried by priority (lowest first); the first
    whose conditions all hold decides: its offer, its experiment's variant, or no
    offer at all when it names neither. An empty condition matches everything."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="offer_rules")
    name = models.CharField(max_length=200)
    offer = models.ForeignKey(
        Offer, on_delete=models.CASCADE, null=True, blank=True, related_name="rules"
    )
    experiment = models.ForeignKey(
        Experiment, on_delete=models.CASCADE, null=True, blank=True, related_name="rules"
    )
    reasons = models.JSONField(default=list, blank=True, help_text="Reason codes.")
    categories = models.JSONField(default=list, blank=True, help_text="Category codes.")
    plans = models.JSONField(default=list, blank=True)
    locales = models.JSONField(default=list, blank=True, help_text='e.g. ["en", "zh-hans"]')
    min_mrr_cents = models.PositiveBigIntegerField(null=True, blank=True)
    max_mrr_cents = models.PositiveBigIntegerField(null=True, blank=True)
    min_tenure_days = models.PositiveIntegerField(null=True, blank=True)
    max_tenure_days = models.PositiveIntegerField(null=True, blank=True)
    metadata = models.JSONField(
        default=dict, blank=True, help_text="Entries the session's metadata must contain."
    )
    priority = models.PositiveSmallIntegerField(default=100, help_text="Lower is tried first.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workspace", "priority", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = offer_rule_errors(
            workspace_id=self.workspace_id,
            offer=self.offer,
            experiment=self.experiment,
            **{name: getattr(self, name) for name in TARGETING.allowed},
        )
        if errors:
            raise ValidationError(errors)


class SubscriptionEventType(models.TextChoices):
    CANCELLED = "cancelled", _("Cancelled")
    REACTIVATED = "reactivated", _("Reactivated")
    RENEWED = "renewed", _("Renewed")
    PAYMENT_FAILED = "payment_failed", _("Payment failed")


class SubscriptionEventSource(models.TextChoices):
    API = "api", _("Posted by the host")
    STRIPE = "stripe", _("Stripe webhook")


class SubscriptionEvent(models.Model):
    """What happened to a subscription after its cancel session: posted by the host
    (``POST /api/v1/subscription-events``) or read from Stripe's webhooks. The
    analytics match them to saved sessions by subscription id, to tell which saves
    lasted; an event for a subscription no session names yet is kept and counts as
    soon as one does. ``event_id`` is the sender's id (idempotency key); the same id
    with another body is refused. No customer data is kept: no payload, only the
    subscription's id (which sessions keep through an erasure too)."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="subscription_events"
    )
    event_id = models.CharField(max_length=200)
    subscription_id = models.CharField(max_length=200)
    type = models.CharField(max_length=20, choices=SubscriptionEventType.choices)
    occurred_at = models.DateTimeField()
    source = models.CharField(
        max_length=10, choices=SubscriptionEventSource.choices, default=SubscriptionEventSource.API
    )
    # A hash of what was posted: a replay with the same id and body answers the
    # same; another body under the same id is a conflict.
    request_fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workspace", "occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "event_id"], name="subscription_event_id_unique"
            )
        ]
        indexes = [
            # A saved session's cancellations within the horizon (the saves figure).
            models.Index(
                fields=["workspace", "subscription_id", "occurred_at"],
                condition=models.Q(type="cancelled"),
                name="subscription_event_cancels",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} {self.type} at {self.occurred_at:%Y-%m-%d}"
