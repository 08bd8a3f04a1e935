"""Save offers a customer may see once, after answering the exit survey."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from surveys.models import Category
from workspaces.models import Workspace


class OfferKind(models.TextChoices):
    DISCOUNT_PERCENT = "discount_percent", _("Percent discount")
    PAUSE = "pause", _("Pause")
    DOWNGRADE = "downgrade", _("Downgrade")
    EXTENSION = "extension", _("Free extension")
    SUPPORT = "support", _("Talk to support")


# The whole-number terms each kind needs: name -> (minimum, maximum).
TERM_FIELDS: dict[str, dict[str, tuple[int, int]]] = {
    OfferKind.DISCOUNT_PERCENT: {"percent": (1, 100), "months": (1, 36)},
    OfferKind.PAUSE: {"max_months": (1, 12)},
    OfferKind.DOWNGRADE: {"price_cents": (0, 10**9)},
    OfferKind.EXTENSION: {"days": (1, 365)},
    OfferKind.SUPPORT: {},
}


def validate_terms(kind: str, terms: dict[str, Any]) -> dict[str, Any]:
    """Return the errors in ``terms`` for ``kind``, by field (empty when valid)."""
    errors: dict[str, Any] = {}
    for name, (low, high) in TERM_FIELDS.get(kind, {}).items():
        value = terms.get(name)
        if not isinstance(value, int) or isinstance(value, bool):
            errors[name] = f"a whole number from {low} to {high} is required"
        elif not low <= value <= high:
            errors[name] = f"must be from {low} to {high}"
    if kind == OfferKind.DOWNGRADE and not str(terms.get("plan", "")).strip():
        errors["plan"] = "the plan to move to is required"
    return errors


class Offer(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="offers")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=OfferKind.choices)
    # Machine-readable terms, e.g. {"percent": 30, "months": 3}; sent to the host.
    terms = models.JSONField(default=dict, blank=True)
    # Per locale: {"en": {"title": "…", "body": "…"}, "zh-hans": {…}}
    copy = models.JSONField(default=dict, blank=True)
    categories = models.ManyToManyField(Category, related_name="offers", blank=True)
    priority = models.PositiveSmallIntegerField(default=100, help_text="Lower is tried first.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workspace", "priority", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = validate_terms(self.kind, self.terms or {})
        if errors:
            raise ValidationError({"terms": [f"{k}: {v}" for k, v in errors.items()]})
