"""The outbound records: events to tell the world about, their deliveries and
every try at each.

- ``OutboxEvent``: a message written in the same transaction as the change it
  tells (``payload`` frozen then). ``event_type`` and ``subject_id`` are the
  writer's words: alerts writes a session's outcome (the subject is the
  session's id) and expands it into deliveries; analytics writes a weekly
  digest, already expanded.
- ``Delivery``: one message to one receiver through the transport of its
  ``kind``, tried until sent or dead. ``key`` names the receiver in the words of
  the app that wrote it (``channel:12``, ``endpoint:3``, ``customer``); one
  delivery per event and key (a unique constraint), so expanding an event twice,
  or a digest's week claimed twice, writes nothing new.
- ``DeliveryAttempt``: every try, with its status code, error and duration.

This app stands just above ``workspaces`` and knows nothing of sessions, teams,
channels or endpoints: the apps above link their own rows to these (alerts'
``DeliveryRoute``). The tables keep the names they had when alerts held these
models (``db_table``), so moving them copied no row.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from config.ids import uuid7
from workspaces.models import Workspace


def new_event_id() -> str:
    """``msg_`` and a time-ordered UUID (config.ids): new ids share the last
    pages of their unique index."""
    return "msg_" + uuid7().hex


class OutboxEvent(models.Model):
    """Something to tell, written with the change itself.

    ``event_id`` is the ``webhook-id`` every delivery of it carries, on every try.
    ``dispatched_at`` is set once the event is expanded into its deliveries (by
    the app that expands its type; ``outbound.registry``), or at once when it is
    written expanded.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    # What the event is about, as its writer identifies it (alerts: a session's
    # id), so the writer can find and erase its events. No foreign key: the
    # writer keeps its own rows and this one consistent.
    subject_id = models.UUIDField(null=True, blank=True, db_column="session_id", db_index=True)
    event_type = models.CharField(max_length=40)
    # Unique by the constraint below, without the LIKE index of a unique CharField.
    event_id = models.CharField(max_length=40, default=new_event_id)
    payload = models.JSONField()
    # The subject had an event before this one (a session abandoned, then cancelled).
    follows_outcome = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "alerts_outboxevent"
        ordering = ["-created_at"]
        constraints = [
            # The name PostgreSQL gave the column's UNIQUE (alerts 0001).
            models.UniqueConstraint(fields=["event_id"], name="alerts_outboxevent_event_id_key"),
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(dispatched_at__isnull=True),
                name="outbox_undispatched",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    IN_FLIGHT = "in_flight", _("In flight")
    RETRY = "retry", _("Awaiting retry")
    SENT = "sent", _("Sent")
    DEAD = "dead", _("Dead")


class Delivery(models.Model):
    """One message to one receiver, tried until sent or dead.

    ``kind`` names the transport (``outbound.transports``); ``key`` the receiver,
    unique per event when given.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    kind = models.CharField(max_length=20)
    key = models.CharField(max_length=100, blank=True, default="")
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
        db_table = "alerts_delivery"
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["event", "key"],
                condition=~models.Q(key=""),
                name="one_delivery_per_key",
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
        """Where it goes, as its transport tells it (an address, a URL)."""
        from outbound.transports.base import target_of

        return target_of(self)


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    ok = models.BooleanField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        db_table = "alerts_deliveryattempt"
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="attempt_number_unique")
        ]

    def __str__(self) -> str:
        return f"#{self.number} {'ok' if self.ok else self.error[:60]}"
