"""How an offer reads to a customer: its title, body and terms in their language.

The terms are spelled out from the offer's terms and the session (its currency,
MRR and billing period), so the customer sees what they would pay and until
when before accepting: "30% off your next 3 months, then $49.00 a month".
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from config.lru import LRU
from offers.models import Offer, OfferKind, pause_bounds
from surveys.formatting import customer_date, customer_price

if TYPE_CHECKING:
    from surveys.models import CancelSession

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CNY": "¥", "JPY": "¥"}


def format_money(cents: int, currency: str) -> str:
    """Short form for a team's figures: "$49", "$49.50" (customers' prices are
    ``surveys.formatting.customer_price``)."""
    amount = f"{cents / 100:,.2f}".removesuffix(".00")
    symbol = SYMBOLS.get(currency.upper())
    return f"{symbol}{amount}" if symbol else f"{amount} {currency.upper()}"


def format_price(cents: int, currency: str) -> str:
    """A price a customer will pay, in the active language: "$49.00", "49,00 €"."""
    return customer_price(cents, currency)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def offer_start_date(session: CancelSession | None, now: datetime | None = None) -> date:
    """When an offer would take effect: the end of the period already paid for,
    else today."""
    moment = (session.current_period_end if session is not None else None) or now or timezone.now()
    return timezone.localtime(moment, timezone.get_current_timezone()).date()


def _discounted(mrr_cents: int, terms: dict[str, Any], kind: str) -> int:
    if kind == OfferKind.DISCOUNT_PERCENT:
        return round(mrr_cents * (100 - int(terms["percent"])) / 100)
    return max(mrr_cents - int(terms["amount_cents"]), 0)


def terms_text(offer: Offer, *, currency: str) -> str:
    """The offer's terms in one line, in the active language."""
    return _terms_line(offer.kind, offer.terms, currency=currency)


def _terms_line(kind: str, terms: dict[str, Any], *, currency: str) -> str:
    if kind == OfferKind.DISCOUNT_PERCENT:
        return ngettext(
            "%(percent)s%% off your next month",
            "%(percent)s%% off your next %(months)s months",
            terms["months"],
        ) % {"percent": terms["percent"], "months": terms["months"]}
    if kind == OfferKind.DISCOUNT_AMOUNT:
        return ngettext(
            "%(amount)s off your next month",
            "%(amount)s off each of your next %(months)s months",
            terms["months"],
        ) % {"amount": format_price(terms["amount_cents"], currency), "months": terms["months"]}
    if kind == OfferKind.PAUSE:
        return ngettext(
            "Pause your subscription for up to %(months)s month, with no charge",
            "Pause your subscription for up to %(months)s months, with no charge",
            terms["max_months"],
        ) % {"months": terms["max_months"]}
    if kind == OfferKind.DOWNGRADE:
        return _("Move to the %(plan)s plan at %(price)s a month") % {
            "plan": terms["plan"],
            "price": format_price(terms["price_cents"], currency),
        }
    if kind == OfferKind.EXTENSION:
        return ngettext("%(days)s extra day free", "%(days)s extra days free", terms["days"]) % {
            "days": terms["days"]
        }
    if kind == OfferKind.TRIAL_EXTENSION:
        return ngettext(
            "Your trial extended by %(days)s day",
            "Your trial extended by %(days)s days",
            terms["days"],
        ) % {"days": terms["days"]}
    return _("A member of our team will contact you to sort it out")


@dataclass(frozen=True)
class PauseChoice:
    months: int
    until: str  # ISO date the subscription resumes
    label: str


@dataclass(frozen=True)
class OfferView:
    id: int
    kind: str
    title: str
    body: str
    terms_text: str
    accept_label: str
    terms: dict
    # The whole deal in one sentence ("30% off your next 3 months, then $49.00 a month").
    summary: str = ""
    # What happens, line by line: what they pay, until when, what follows.
    details: list[str] = field(default_factory=list)
    # For a pause: the lengths the customer may pick (none is pre-selected).
    pause_choices: list[PauseChoice] = field(default_factory=list)


def _copy_for(offer: Offer, locale: str) -> dict[str, str]:
    copy = offer.copy or {}
    return copy.get(locale) or copy.get("en") or next(iter(copy.values()), {}) or {}


def _explain(
    offer: Offer, *, currency: str, mrr_cents: int, start: date
) -> tuple[str, list[str], list[PauseChoice]]:
    """(summary, details, pause choices) in the active language."""
    terms = offer.terms
    headline = terms_text(offer, currency=currency)
    price = format_price(mrr_cents, currency)
    if offer.kind in (OfferKind.DISCOUNT_PERCENT, OfferKind.DISCOUNT_AMOUNT):
        ends = add_months(start, int(terms["months"]))
        summary = (
            _("%(terms)s, then %(price)s a month") % {"terms": headline, "price": price}
            if mrr_cents
            else headline
        )
        details = []
        if mrr_cents:
            details.append(
                _("You pay %(discounted)s a month instead of %(price)s, from %(start)s.")
                % {
                    "discounted": format_price(_discounted(mrr_cents, terms, offer.kind), currency),
                    "price": price,
                    "start": customer_date(start),
                }
            )
        details.append(
            _("The discount ends on %(end)s; from then on you pay %(price)s a month.")
            % {"end": customer_date(ends), "price": price}
            if mrr_cents
            else _("The discount ends on %(end)s; from then on you pay the usual price.")
            % {"end": customer_date(ends)}
        )
        return summary, details, []
    if offer.kind == OfferKind.PAUSE:
        low, high = pause_bounds(terms)
        choices = []
        for months in range(low, high + 1):
            until = add_months(start, months)
            choices.append(
                PauseChoice(
                    months=months,
                    until=until.isoformat(),
                    label=ngettext(
                        "%(months)s month: pause until %(date)s",
                        "%(months)s months: pause until %(date)s",
                        months,
                    )
                    % {"months": months, "date": customer_date(until)},
                )
            )
        details = [
            _("Nothing is charged while paused, from %(start)s.") % {"start": customer_date(start)},
            _("It resumes on its own at %(price)s a month; you can still cancel at any time.")
            % {"price": price}
            if mrr_cents
            else _("It resumes on its own; you can still cancel at any time."),
        ]
        return headline, details, choices
    if offer.kind == OfferKind.DOWNGRADE:
        new_price = format_price(int(terms["price_cents"]), currency)
        summary = (
            _("Move to the %(plan)s plan at %(new)s a month instead of %(price)s")
            % {"plan": terms["plan"], "new": new_price, "price": price}
            if mrr_cents
            else headline
        )
        details = [
            _("The %(plan)s plan starts on %(start)s.")
            % {"plan": terms["plan"], "start": customer_date(start)}
        ]
        return summary, details, []
    if offer.kind in (OfferKind.EXTENSION, OfferKind.TRIAL_EXTENSION):
        until = start + timedelta(days=int(terms["days"]))
        if offer.kind == OfferKind.EXTENSION:
            line = _("Your next payment moves from %(start)s to %(until)s.")
        else:
            line = _("Your trial now ends on %(until)s instead of %(start)s.")
        return headline, [line % {"start": customer_date(start), "until": customer_date(until)}], []
    return (
        headline,
        [_("Your subscription stays as it is until then; you can still cancel afterwards.")],
        [],
    )


def offer_view(
    offer: Offer,
    *,
    locale: str,
    currency: str,
    session: CancelSession | None = None,
    now: datetime | None = None,
) -> OfferView:
    """The offer as the customer reads it. With the session, the prices and
    dates are theirs (MRR, end of the paid period).

    It is a function of the offer's content, the language, the currency, the MRR
    and the start date only, and formatting it (Babel, a dozen translated
    strings) costs more than the flow's own transaction: so each view is made
    once per such key and kept (``OFFER_VIEWS``), never stale, since the key
    holds all it reads."""
    mrr_cents = session.mrr_cents if session is not None else 0
    start = offer_start_date(session, now)
    key = (
        offer.pk,
        offer.kind,
        offer.name,
        _frozen(offer.terms),
        _frozen(offer.copy),
        locale,
        currency,
        mrr_cents,
        start,
    )
    found = OFFER_VIEWS.get(key)
    if found is None:
        found = _offer_view(
            offer, locale=locale, currency=currency, mrr_cents=mrr_cents, start=start
        )
        OFFER_VIEWS.put(key, found)
    # Each caller gets its own terms dict and lists; the strings are shared.
    return replace(
        found,
        terms=dict(found.terms),
        details=list(found.details),
        pause_choices=list(found.pause_choices),
    )


def _frozen(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


# The last offer views made, by all they read.
OFFER_VIEWS: LRU[tuple[Any, ...], OfferView] = LRU(1024)


def _offer_view(
    offer: Offer, *, locale: str, currency: str, mrr_cents: int, start: date
) -> OfferView:
    with translation.override(locale):
        copy = _copy_for(offer, locale)
        accept_labels: dict[str, str] = {
            OfferKind.DISCOUNT_PERCENT: _("Accept the discount"),
            OfferKind.DISCOUNT_AMOUNT: _("Accept the discount"),
            OfferKind.PAUSE: _("Pause my subscription"),
            OfferKind.DOWNGRADE: _("Switch plan"),
            OfferKind.EXTENSION: _("Take the free time"),
            OfferKind.TRIAL_EXTENSION: _("Extend my trial"),
            OfferKind.SUPPORT: _("Yes, contact me"),
        }
        summary, details, choices = _explain(
            offer, currency=currency, mrr_cents=mrr_cents, start=start
        )
        return OfferView(
            id=offer.pk,
            kind=offer.kind,
            title=copy.get("title") or offer.name,
            body=copy.get("body", ""),
            terms_text=terms_text(offer, currency=currency),
            accept_label=str(accept_labels.get(offer.kind, _("Accept"))),
            terms=dict(offer.terms),
            summary=summary,
            details=details,
            pause_choices=choices,
        )


def accepted_text(accepted_terms: dict[str, Any], *, locale: str, currency: str) -> str:
    """What the customer accepted, as applied, for the done page, the email and
    the team's alert: the months they chose and the dates that follow ("Paused
    for 2 months, until March 22, 2027"), never the offer's bounds."""
    kind = accepted_terms.get("kind", "")
    currency = accepted_terms.get("currency") or currency
    with translation.override(locale):
        if kind == OfferKind.PAUSE and accepted_terms.get("resumes_on"):
            months = int(accepted_terms.get("months") or 0)
            date_text = customer_date(accepted_terms["resumes_on"])
            if months < 1:
                return _("Paused until %(date)s") % {"date": date_text}
            return ngettext(
                "Paused for %(months)s month, until %(date)s",
                "Paused for %(months)s months, until %(date)s",
                months,
            ) % {"months": months, "date": date_text}
        if kind in (
            OfferKind.DISCOUNT_PERCENT,
            OfferKind.DISCOUNT_AMOUNT,
            OfferKind.EXTENSION,
            OfferKind.TRIAL_EXTENSION,
        ):
            until = accepted_terms.get("ends_on") or accepted_terms.get("extended_until")
            try:
                terms = _terms_line(kind, accepted_terms, currency=currency)
            except (KeyError, TypeError, ValueError):
                terms = ""
            if terms and until:
                return _("%(terms)s, until %(date)s") % {
                    "terms": terms,
                    "date": customer_date(until),
                }
            return terms
        if kind == OfferKind.DOWNGRADE and accepted_terms.get("starts_on"):
            values = {
                "plan": accepted_terms.get("plan", ""),
                "date": customer_date(accepted_terms["starts_on"]),
            }
            if accepted_terms.get("price_cents") is not None:
                return _("On the %(plan)s plan at %(price)s a month, from %(date)s") % {
                    **values,
                    "price": format_price(int(accepted_terms["price_cents"]), currency),
                }
            return _("On the %(plan)s plan from %(date)s") % values
        if kind == OfferKind.SUPPORT:
            return _("Our team will get in touch with you soon")
    return ""
