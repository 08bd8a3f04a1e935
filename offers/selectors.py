"""Reads for offers: which offer, if any, a session should see."""

from __future__ import annotations

from offers.models import Offer
from workspaces.config_cache import ConfigCache
from workspaces.models import Workspace


def _load_offers(workspace: Workspace) -> tuple[tuple[Offer, frozenset[str]], ...]:
    """The active offers with the categories they are made for, in one query (an
    offer made for no category is never picked, so it is not needed here)."""
    links = (
        Offer.categories.through.objects.filter(offer__workspace=workspace, offer__is_active=True)
        .select_related("offer")
        .order_by("offer__priority", "offer__id")
    )
    found: dict[int, tuple[Offer, set[str]]] = {}
    for link in links:
        found.setdefault(link.offer_id, (link.offer, set()))[1].add(link.category_id)
    return tuple((offer, frozenset(codes)) for offer, codes in found.values())


_OFFERS: ConfigCache[tuple[tuple[Offer, frozenset[str]], ...]] = ConfigCache(_load_offers)


def offer_for_answer(*, workspace: Workspace, category_code: str) -> Offer | None:
    """The first active offer made for this category (lowest priority first).

    No query: the workspace's offers are cached per configuration version (every
    offer change bumps it). The save-offers work replaces this with targeting
    rules and experiments; the flow only relies on getting one offer or none.
    """
    for offer, categories in _OFFERS.get(workspace):
        if category_code in categories:
            return offer
    return None


def offers_by_id(*, workspace: Workspace, ids: list[int]) -> dict[int, Offer]:
    """The workspace's offers with these ids (others' ids are ignored)."""
    if not ids:
        return {}
    return {o.pk: o for o in Offer.objects.filter(workspace=workspace, pk__in=ids)}


def offer_cost_cents(*, offer: Offer, saved_sessions: int, saved_mrr_cents: int) -> int:
    """What accepted offers give away, from the offer's terms: a percent discount
    costs that share of the MRR for its months, a fixed discount its amount for its
    months, a free extension its days of MRR, a downgrade the monthly MRR given up
    by moving to the cheaper price. A pause defers revenue rather than giving it
    away, and a support call gives nothing away: both count 0."""
    terms = offer.terms or {}
    if offer.kind == "discount_percent":
        return round(
            saved_mrr_cents * int(terms.get("percent", 0)) / 100 * int(terms.get("months", 0))
        )
    if offer.kind == "discount_amount":
        return saved_sessions * int(terms.get("amount_cents", 0)) * int(terms.get("months", 0))
    if offer.kind in ("extension", "trial_extension"):
        return round(saved_mrr_cents * int(terms.get("days", 0)) / 30)
    if offer.kind == "downgrade":
        return max(saved_mrr_cents - saved_sessions * int(terms.get("price_cents", 0)), 0)
    return 0
