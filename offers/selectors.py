"""Reads for offers: which offer, if any, a session should see."""

from __future__ import annotations

from offers.models import Offer
from workspaces.models import Workspace


def offer_for_answer(*, workspace: Workspace | int, category_code: str) -> Offer | None:
    """The first active offer made for this category (lowest priority first).

    One query. The save-offers work replaces this with targeting rules and
    experiments; the flow only relies on getting one offer or none.
    """
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    return (
        Offer.objects.filter(
            workspace_id=workspace_id, is_active=True, categories__code=category_code
        )
        .order_by("priority", "id")
        .first()
    )
