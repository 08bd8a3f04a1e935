"""Who hears about a cancellation, and the outbound messages that tell them.

- ``Team`` / ``Channel``: where alerts go (email, Slack incoming webhook, generic
  signed webhook); ``RoutingRule`` picks the teams for a session's outcome.
- ``WebhookEndpoint``: the host's own endpoints for outcome events
  (``session.completed``, ``session.abandoned``), signed per Standard Webhooks.
- ``OutboxEvent``: written in the same transaction as the outcome; the worker
  expands it into ``Alert`` rows and ``Delivery`` rows, one per channel or endpoint.
- ``Delivery`` / ``DeliveryAttempt``: each outbound message and every try at it.
"""

from __future__ import annotations

import base64
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from workspaces.models import Workspace


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def new_event_id() -> str:
    return "msg_" + uuid.uuid4().hex


class Team(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=100)
    locale = models.CharField(max_length=10, choices=settings.LANGUAGES, default="en")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="teams")
    receives_digest = models.BooleanField(
        default=False,
        help_text=_(
            "Send the weekly digest (top reasons, their change, telling answers) to this "
            "team's email channels."
        ),
    )

    class Meta:
        ordering = ["workspace", "name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="team_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class ChannelKind(models.TextChoices):
    EMAIL = "email", _("Email")
    SLACK = "slack", _("Slack incoming webhook")
    WEBHOOK = "webhook", _("Signed webhook")


class Channel(models.Model):
    """One place a team hears from us. ``target`` is an email address (several,
    comma-separated) or an https URL; webhook channels sign with ``secret``."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="channels")
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    target = models.CharField(max_length=2000)
    secret = models.CharField(max_length=100, default=new_webhook_secret, editable=False)
    is_enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team", "kind", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.target[:60]}"


class RoutingRule(models.Model):
    """Conditions on a finished session; every condition left empty matches all.

    Rules are tried by ``priority`` (lowest first); each match alerts ``team``;
    ``stop_after_match`` ends the search there.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="routing_rules")
    name = models.CharField(max_length=200)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="rules")
    priority = models.PositiveSmallIntegerField(default=100)
    stop_after_match = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    # Lists of codes; empty = any.
    categories = models.JSONField(default=list, blank=True)
    reasons = models.JSONField(default=list, blank=True)
    outcomes = models.JSONField(default=list, blank=True, help_text="saved, cancelled, abandoned")
    plans = models.JSONField(default=list, blank=True)
    offer_kinds = models.JSONField(
        default=list, blank=True, help_text="The kind of offer the customer accepted."
    )
    min_mrr_cents = models.PositiveBigIntegerField(null=True, blank=True)
    min_tenure_days = models.PositiveIntegerField(null=True, blank=True)
    max_tenure_days = models.PositiveIntegerField(null=True, blank=True)
    min_risk_score = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["workspace", "priority", "id"]

    def __str__(self) -> str:
        return self.name


class WebhookEndpoint(models.Model):
    """The host's endpoint for outcome events. 410 Gone disables it."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=2000)
    secret = models.CharField(max_length=100, default=new_webhook_secret, editable=False)
    events = models.JSONField(default=list, help_text="Event types; empty = all.")
    is_enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workspace", "id"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return not self.events or event_type in self.events


class EventType(models.TextChoices):
    SESSION_COMPLETED = "session.completed", "session.completed"
    SESSION_ABANDONED = "session.abandoned", "session.abandoned"


# A weekly digest's emails (``analytics.digest``): an event without a session,
# written already expanded, one delivery per digest channel. Not an event type
# host endpoints can subscribe to.
DIGEST_EVENT = "digest.weekly"


class OutboxEvent(models.Model):
    """An outcome to tell the world about, written with the outcome itself, or a
    weekly digest (``DIGEST_EVENT``, no session) written when its week is claimed.

    ``event_id`` is the ``webhook-id`` every delivery of it carries, on every try.
    ``payload`` is frozen at the moment of the outcome (or of the claim).
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    session = models.ForeignKey(
        "surveys.CancelSession",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="outbox_events",
    )
    event_type = models.CharField(
        max_length=40, choices=[*EventType.choices, (DIGEST_EVENT, DIGEST_EVENT)]
    )
    event_id = models.CharField(max_length=40, unique=True, default=new_event_id)
    payload = models.JSONField()
    # The session had an outcome before this one (abandoned, then cancelled).
    follows_outcome = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(dispatched_at__isnull=True),
                name="outbox_undispatched",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class AlertStatus(models.TextChoices):
    NEW = "new", _("New")
    CONTACTED = "contacted", _("Contacted")
    WON_BACK = "won_back", _("Won back")
    LOST = "lost", _("Lost")


class Alert(models.Model):
    """A customer a team should look at. At most one per session and team."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="alerts")
    session = models.ForeignKey(
        "surveys.CancelSession", on_delete=models.CASCADE, related_name="alerts"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="alerts")
    rule = models.ForeignKey(RoutingRule, on_delete=models.SET_NULL, null=True, blank=True)
    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="alerts")
    risk_score = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=10, choices=AlertStatus.choices, default=AlertStatus.NEW)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "team"], name="one_alert_per_team")
        ]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="alert_ws_created")]

    def __str__(self) -> str:
        return f"{self.team} · {self.session.customer_id}"


class AlertChange(models.Model):
    """Every change of an alert's status, assignee or notes, by whom."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="changes")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    from_status = models.CharField(max_length=10, choices=AlertStatus.choices)
    to_status = models.CharField(max_length=10, choices=AlertStatus.choices)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status} -> {self.to_status}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    IN_FLIGHT = "in_flight", _("In flight")
    RETRY = "retry", _("Awaiting retry")
    SENT = "sent", _("Sent")
    DEAD = "dead", _("Dead")


class Delivery(models.Model):
    """One message to one channel or endpoint, tried until sent or dead.

    ``kind`` names the transport (``alerts.transports``); the unique constraints
    make expanding an event twice harmless.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    kind = models.CharField(max_length=20)
    alert = models.ForeignKey(
        Alert, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["event", "channel"],
                condition=models.Q(channel__isnull=False),
                name="one_delivery_per_channel",
            ),
            models.UniqueConstraint(
                fields=["event", "endpoint"],
                condition=models.Q(endpoint__isnull=False),
                name="one_delivery_per_endpoint",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["workspace", "status"], name="delivery_ws_status"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def target(self) -> str:
        if self.channel is not None:
            return self.channel.target
        if self.endpoint is not None:
            return self.endpoint.url
        return ""


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    ok = models.BooleanField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="attempt_number_unique")
        ]

    def __str__(self) -> str:
        return f"#{self.number} {'ok' if self.ok else self.error[:60]}"
