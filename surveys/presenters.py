"""How the customer's pages and the flow API show an offer.

Offers stand above surveys, so surveys cannot import them: the offers app
registers its presenter here in its ``AppConfig.ready`` and the flow calls it
through this module, without knowing who answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


class OfferViewer(Protocol):
    def __call__(
        self,
        offer: Any,
        *,
        locale: str,
        currency: str,
        session: Any = None,
        now: datetime | None = None,
    ) -> Any: ...


class AcceptedTexter(Protocol):
    def __call__(self, accepted_terms: dict[str, Any], *, locale: str, currency: str) -> str: ...


@dataclass(frozen=True)
class OfferPresenter:
    offer_view: OfferViewer  # the offer as the customer reads it
    accepted_text: AcceptedTexter  # what the customer accepted, for the done page


_registered: list[OfferPresenter] = []


def offer_presenter_register(presenter: OfferPresenter) -> None:
    """Called by the offers app in its ``ready``; the last one registered wins."""
    _registered[:] = [presenter]


def offer_presenter() -> OfferPresenter:
    if not _registered:
        raise RuntimeError("No offer presenter is registered (is the offers app installed?).")
    return _registered[0]


def offer_view(
    offer: Any, *, locale: str, currency: str, session: Any = None, now: datetime | None = None
) -> Any:
    return offer_presenter().offer_view(
        offer, locale=locale, currency=currency, session=session, now=now
    )


def accepted_text(accepted_terms: dict[str, Any], *, locale: str, currency: str) -> str:
    return offer_presenter().accepted_text(accepted_terms, locale=locale, currency=currency)
