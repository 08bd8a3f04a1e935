"""How an offer reads to a customer: its title, body and terms in their language."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from offers.models import Offer, OfferKind


def format_money(cents: int, currency: str) -> str:
    amount = f"{cents / 100:,.2f}".removesuffix(".00")
    symbols = {"USD": "$", "EUR": "€", "GBP": "£", "CNY": "¥", "JPY": "¥"}
    symbol = symbols.get(currency.upper())
    return f"{symbol}{amount}" if symbol else f"{amount} {currency.upper()}"


def terms_text(offer: Offer, *, currency: str) -> str:
    """The offer's terms spelled out, in the active language."""
    terms = offer.terms
    if offer.kind == OfferKind.DISCOUNT_PERCENT:
        return ngettext(
            "%(percent)s%% off your next month",
            "%(percent)s%% off your next %(months)s months",
            terms["months"],
        ) % {"percent": terms["percent"], "months": terms["months"]}
    if offer.kind == OfferKind.PAUSE:
        return ngettext(
            "Pause your subscription for up to %(months)s month, with no charge",
            "Pause your subscription for up to %(months)s months, with no charge",
            terms["max_months"],
        ) % {"months": terms["max_months"]}
    if offer.kind == OfferKind.DOWNGRADE:
        return _("Move to the %(plan)s plan at %(price)s a month") % {
            "plan": terms["plan"],
            "price": format_money(terms["price_cents"], currency),
        }
    if offer.kind == OfferKind.EXTENSION:
        return ngettext("%(days)s extra day free", "%(days)s extra days free", terms["days"]) % {
            "days": terms["days"]
        }
    return _("A member of our team will contact you to sort it out")


@dataclass(frozen=True)
class OfferView:
    id: int
    kind: str
    title: str
    body: str
    terms_text: str
    accept_label: str
    terms: dict


def _copy_for(offer: Offer, locale: str) -> dict[str, str]:
    copy = offer.copy or {}
    return copy.get(locale) or copy.get("en") or next(iter(copy.values()), {}) or {}


def offer_view(offer: Offer, *, locale: str, currency: str) -> OfferView:
    with translation.override(locale):
        copy = _copy_for(offer, locale)
        accept_labels: dict[str, str] = {
            OfferKind.DISCOUNT_PERCENT: _("Accept the discount"),
            OfferKind.PAUSE: _("Pause my subscription"),
            OfferKind.DOWNGRADE: _("Switch plan"),
            OfferKind.EXTENSION: _("Take the free time"),
            OfferKind.SUPPORT: _("Yes, contact me"),
        }
        return OfferView(
            id=offer.pk,
            kind=offer.kind,
            title=copy.get("title") or offer.name,
            body=copy.get("body", ""),
            terms_text=terms_text(offer, currency=currency),
            accept_label=str(accept_labels.get(offer.kind, _("Accept"))),
            terms=dict(offer.terms),
        )
