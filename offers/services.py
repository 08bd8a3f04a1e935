"""Writes for offers."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from config.errors import Invalid
from offers.models import Offer, OfferKind, validate_terms
from surveys.models import Category
from workspaces.models import Workspace
from workspaces.services import workspace_config_bump


def offer_create(
    *,
    workspace: Workspace,
    name: str,
    kind: str,
    terms: dict[str, Any],
    copy: dict[str, dict[str, str]],
    categories: list[str],
    priority: int = 100,
) -> Offer:
    """Create an offer for the given category codes, after checking its terms."""
    if kind not in OfferKind.values:
        raise Invalid(f"Unknown offer kind {kind!r}.", fields={"kind": "unknown kind"})
    errors = validate_terms(kind, terms)
    if errors:
        raise Invalid("The offer's terms are not valid.", fields={"terms": errors})
    with transaction.atomic():
        offer = Offer.objects.create(
            workspace=workspace, name=name, kind=kind, terms=terms, copy=copy, priority=priority
        )
        offer.categories.set(Category.objects.filter(code__in=categories))
        workspace_config_bump(workspace_id=workspace.pk)
    return offer
