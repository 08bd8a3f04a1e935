"""What is kept of each erasure: who, when, how many rows of each kind, and the
pseudonym the customer's id became. Never the id, email or name themselves."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from workspaces.models import ApiKey, Workspace


class ErasedBy(models.TextChoices):
    API_KEY = "api_key", _("API key")
    USER = "user", _("Team member")
    COMMAND = "command", _("Management command")
    RETENTION = "retention", _("Retention period")


class ErasureRecord(models.Model):
    """One erasure of personal data: a customer's on request, or a batch of
    sessions past the retention period."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    erased_by = models.CharField(max_length=10, choices=ErasedBy.choices)
    # Who asked, as it may be shown: the API key's name and prefix, the member's
    # username, the command, or "retention".
    actor = models.CharField(max_length=200)
    api_key = models.ForeignKey(ApiKey, on_delete=models.SET_NULL, null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    # The customer's pseudonym (empty for a retention batch, which spans customers).
    pseudonym = models.CharField(max_length=64, blank=True)
    customers = models.PositiveIntegerField(default=1)
    # Rows erased, by kind: {"sessions": 2, "answers": 2, "alerts": 1, …}.
    counts = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="erasure_ws_created")]

    def __str__(self) -> str:
        who = self.pseudonym or _("%(n)s customers") % {"n": self.customers}
        return f"{who} ({self.get_erased_by_display()}, {self.created_at:%Y-%m-%d %H:%M})"
