"""Who hears about a cancellation, and the outbound messages that tell them.

- ``Team`` / ``Channel``: where alerts go (email, Slack incoming webhook, generic
  signed webhook); ``RoutingRule`` picks the teams for a session's outcome.
- ``WebhookEndpoint``: the host's own endpoints for outcome events
  (``session.completed``, ``session.abandoned``), signed per Standard Webhooks.
- ``Alert``: a customer a team should look at. An outcome is written as an
  ``outbound.OutboxEvent`` (the session's id its subject) in the flow's
  transaction; the worker expands it into ``Alert`` rows and deliveries
  (``outbound.Delivery``), one per channel or endpoint, each linked here by a
  ``DeliveryRoute``. The sending machinery is ``outbound``'s.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from workspaces.models import Workspace


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


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
    """The outcome events alerts writes (``outbound.OutboxEvent``, the session's
    id as its subject) and host endpoints subscribe to."""

    SESSION_COMPLETED = "session.completed", "session.completed"
    SESSION_ABANDONED = "session.abandoned", "session.abandoned"


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
    event = models.ForeignKey(
        "outbound.OutboxEvent", on_delete=models.CASCADE, related_name="alerts"
    )
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


def delivery_cascade(collector: Any, field: Any, sub_objs: Any, using: str) -> None:
    """``on_delete`` of a route's alert, channel and endpoint: deleting one
    deletes the deliveries routed to it (their routes and attempts with them),
    as when these were columns of the delivery."""
    from outbound.models import Delivery

    collector.collect(
        Delivery.objects.using(using).filter(pk__in=[route.delivery_id for route in sub_objs]),
        source=field.remote_field.model,
        source_attr=field.name,
        nullable=field.null,
        fail_on_restricted=False,
    )


class DeliveryRoute(models.Model):
    """Alerts' own link to a delivery it wrote (``outbound.Delivery``): the alert
    and channel it tells, or the host endpoint. The delivery's ``key`` says the
    same in words (``channel:12``, ``endpoint:3``) and holds it to one per event;
    these keys are what the transports load and what a 410 switches off."""

    delivery = models.OneToOneField(
        "outbound.Delivery", on_delete=models.CASCADE, primary_key=True, related_name="route"
    )
    alert = models.ForeignKey(
        Alert, on_delete=delivery_cascade, null=True, blank=True, related_name="routes"
    )
    channel = models.ForeignKey(
        Channel, on_delete=delivery_cascade, null=True, blank=True, related_name="routes"
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=delivery_cascade, null=True, blank=True, related_name="routes"
    )

    def __str__(self) -> str:
        return f"delivery #{self.delivery_id}"


def channel_key(channel_id: int) -> str:
    return f"channel:{channel_id}"


def endpoint_key(endpoint_id: int) -> str:
    return f"endpoint:{endpoint_id}"
