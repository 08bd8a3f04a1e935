"""Applying an outcome in Stripe, as a delivery transport.

``offers.services.outcome_billing_queue`` writes the delivery with the outcome
(only for workspaces with Stripe enabled); the outbound delivery machinery sends it
from a worker, retries it with backoff, records every try and leaves a failure
dead and visible, to be retried by hand once the configuration is fixed. What is
applied comes from the outcome event's frozen payload; the key is the
workspace's current one.

What each outcome does to the subscription (the session's ``subscription.id``,
or its metadata ``stripe_subscription_id`` when given):

- ``discount_percent`` / ``discount_amount``: a coupon (``duration=repeating``
  for the offer's months), then added to the subscription's ``discounts`` (the
  discounts it had are kept: Stripe replaces the whole list with what is sent);
- ``pause``: ``pause_collection`` with ``behavior=void`` (the service stops and
  the paused months are never billed) until the chosen resume date;
- ``downgrade``: the subscription's item moved to the offer's ``stripe_price``
  (with several items, the one of that price's product),
  ``proration_behavior=none`` (the paid period is kept, the new price is billed
  from the next invoice);
- ``extension`` / ``trial_extension``: ``trial_end`` at the new payment date,
  ``proration_behavior=none`` (nothing is charged until then);
- ``cancelled``: ``cancel_at_period_end=true`` with ``cancellation_details``
  (``feedback`` from the answer's category, ``comment`` from the customer's text).

Every write carries an idempotency key made from the outcome event's id, the
same on every retry; the coupon's id is made from it too, so even a retry after
Stripe forgot the key (24 hours) never makes a second coupon.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, cast

import stripe
from django.conf import settings
from django.utils import timezone

from offers.models import OfferKind
from offers.services import BILLING_KIND
from outbound.models import Delivery
from outbound.transports.base import Transport, TransportError, register
from outbound.transports.http import guarded_session
from surveys.taxonomy import CATEGORIES

if TYPE_CHECKING:
    from stripe.params import CouponCreateParams, SubscriptionUpdateParams

# Currencies Stripe counts in whole units (this service keeps every amount in
# hundredths, as it shows them): https://docs.stripe.com/currencies#zero-decimal
ZERO_DECIMAL_CURRENCIES = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)
# Stripe's limits: a coupon's name, a cancellation comment.
COUPON_NAME_LENGTH = 40
COMMENT_LENGTH = 5000
# Errors that trying again cannot fix: a bad key, a missing subscription or price,
# a parameter Stripe refuses. Rate limits, conflicts, 5xx and network failures
# are retried.
_PERMANENT = (
    stripe.InvalidRequestError,
    stripe.AuthenticationError,
    stripe.PermissionError,
    stripe.CardError,
    stripe.IdempotencyError,
)


def stripe_client(api_key: str) -> stripe.StripeClient:
    """A client for one workspace's account. It never retries on its own (the
    delivery machinery does, with backoff and a record of every try), gives up
    after OUTBOUND_TIMEOUT_SECONDS and ignores proxy settings from the
    environment. Its connections go through the outbound guard, as webhooks do:
    STRIPE_API_BASE must be a public address (unless
    ALLOW_PRIVATE_WEBHOOK_TARGETS), checked at the socket."""
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": settings.STRIPE_API_BASE},
        max_network_retries=0,
        http_client=stripe.RequestsClient(
            timeout=settings.OUTBOUND_TIMEOUT_SECONDS, session=guarded_session()
        ),
    )


def subscription_id_for(data: dict[str, Any]) -> str:
    """The Stripe subscription an outcome applies to: the session metadata's
    ``stripe_subscription_id`` when the host gave one, else the subscription id
    the session was opened with."""
    override = str((data.get("metadata") or {}).get("stripe_subscription_id") or "").strip()
    return override or str((data.get("subscription") or {}).get("id") or "").strip()


def stripe_amount(cents: int, currency: str) -> int:
    """An amount in this service's hundredths as Stripe counts it in ``currency``."""
    return round(cents / 100) if currency.lower() in ZERO_DECIMAL_CURRENCIES else cents


def _failure(exc: stripe.StripeError) -> TransportError:
    status = exc.http_status
    if isinstance(exc.__cause__, TransportError):
        return exc.__cause__  # the outbound guard refused the address
    if isinstance(exc, stripe.APIConnectionError):
        return TransportError(f"Stripe unreachable: {exc.user_message}"[:480])
    detail = " ".join(str(part) for part in (status, exc.code) if part)
    message = f"Stripe {detail}: {exc.user_message or type(exc).__name__}"
    if exc.request_id:
        message += f" (request {exc.request_id})"
    permanent = isinstance(exc, _PERMANENT) and not isinstance(exc, stripe.RateLimitError)
    return TransportError(message[:480], permanent=permanent, status_code=status)


def _field(obj: Any, name: str) -> Any:
    """A field of a Stripe object (or None when it is missing or the object is)."""
    return obj[name] if obj is not None and name in obj else None


def _id(value: Any) -> str:
    """The id of a field that is an id, or an expanded object."""
    return value if isinstance(value, str) else str(_field(value, "id") or "")


def _moment(day: Any, *, terms: dict[str, Any], subscription: dict[str, Any]) -> int:
    """The Unix time of a date in the accepted terms. Dates count from the end of
    the paid period (``starts_on``), so the same time of day keeps the billing
    anchor; without a period end, the start of that day in the server's zone."""
    try:
        target = date.fromisoformat(str(day))
        period_end = subscription.get("current_period_end")
        if period_end and terms.get("starts_on"):
            start = date.fromisoformat(str(terms["starts_on"]))
            moment = datetime.fromisoformat(str(period_end).replace("Z", "+00:00"))
            moment += timedelta(days=(target - start).days)
        else:
            moment = datetime.combine(target, time.min, tzinfo=timezone.get_default_timezone())
    except ValueError:
        raise TransportError(
            f"The accepted terms have no valid date ({day!r}).", permanent=True
        ) from None
    return int(moment.timestamp())


class StripeOutcome:
    """One outcome applied to one subscription through one client."""

    def __init__(self, client: stripe.StripeClient, *, data: dict[str, Any], event_id: str):
        self.client = client
        self.data = data
        self.event_id = event_id
        self.subscription_id = subscription_id_for(data)
        offer = data.get("offer") or {}
        self.offer_kind = str(offer.get("kind") or "")
        self.offer_name = str(offer.get("name") or "")
        self.terms: dict[str, Any] = offer.get("terms") or {}

    def _options(self, step: str) -> stripe.RequestOptions:
        return {"idempotency_key": f"cancelflow-{self.event_id}-{step}"}

    def _update(self, params: dict[str, Any]) -> int:
        subscription = self.client.v1.subscriptions.update(
            self.subscription_id,
            params=cast("SubscriptionUpdateParams", params),
            options=self._options("subscription"),
        )
        return subscription.last_response.code if subscription.last_response else 200

    def apply(self) -> int | None:
        outcome = self.data.get("outcome")
        if outcome == "cancelled":
            return self._update(self.cancellation())
        if outcome != "saved":
            return None  # abandoned: nothing to apply
        kind = self.offer_kind
        if kind in (OfferKind.DISCOUNT_PERCENT, OfferKind.DISCOUNT_AMOUNT):
            discounts = self.discounts(self.coupon())
            if discounts is None:
                return 200  # on the subscription already, from a try whose answer was lost
            return self._update({"discounts": discounts})
        if kind == OfferKind.PAUSE:
            return self._update(self.pause())
        if kind == OfferKind.DOWNGRADE:
            return self._update(self.downgrade())
        if kind in (OfferKind.EXTENSION, OfferKind.TRIAL_EXTENSION):
            return self._update(
                {
                    "trial_end": self._date("extended_until"),
                    "proration_behavior": "none",
                }
            )
        return None  # support: a callback, nothing to bill differently

    def _date(self, name: str) -> int:
        return _moment(
            self.terms.get(name), terms=self.terms, subscription=self.data.get("subscription") or {}
        )

    def coupon(self) -> str:
        """Create the coupon for a discount; its id comes from the event, so it
        exists at most once."""
        coupon_id = f"cancelflow_{self.event_id}"
        params: dict[str, Any] = {
            "id": coupon_id,
            "duration": "repeating",
            "duration_in_months": int(self.terms["months"]),
            "metadata": {"cancelflow_session": str(self.data.get("id", ""))},
        }
        if self.offer_name:
            params["name"] = self.offer_name[:COUPON_NAME_LENGTH]
        if self.offer_kind == OfferKind.DISCOUNT_PERCENT:
            params["percent_off"] = int(self.terms["percent"])
        else:
            currency = self.terms.get("currency") or (self.data.get("subscription") or {}).get(
                "currency", ""
            )
            currency = str(currency).lower()
            params["amount_off"] = stripe_amount(int(self.terms["amount_cents"]), currency)
            params["currency"] = currency
        try:
            self.client.v1.coupons.create(
                params=cast("CouponCreateParams", params), options=self._options("coupon")
            )
        except stripe.InvalidRequestError as exc:
            # Made by an earlier try whose answer was lost: it is ours, use it.
            if exc.code != "resource_already_exists":
                raise
        return coupon_id

    def discounts(self, coupon_id: str) -> list[dict[str, str]] | None:
        """The subscription's discounts with the coupon added: Stripe sets the list
        to what is sent, so the discounts it has are sent again (by id) ahead of the
        new one. None when one of them is already the coupon's."""
        subscription = self.client.v1.subscriptions.retrieve(
            self.subscription_id, params={"expand": ["discounts"]}
        )
        kept: list[dict[str, str]] = []
        for discount in _field(subscription, "discounts") or []:
            if _id(_field(_field(discount, "source"), "coupon")) == coupon_id:
                return None
            kept.append({"discount": _id(discount)})
        return [*kept, {"coupon": coupon_id}]

    def pause(self) -> dict[str, Any]:
        return {
            "pause_collection": {"behavior": "void", "resumes_at": self._date("resumes_on")},
        }

    def downgrade(self) -> dict[str, Any]:
        price = str(self.terms.get("stripe_price") or "").strip()
        if not price:
            raise TransportError(
                f"The downgrade offer {self.offer_name!r} has no stripe_price: "
                "set the Stripe price id on the offer, then retry this delivery.",
                permanent=True,
            )
        subscription = self.client.v1.subscriptions.retrieve(self.subscription_id)
        items = list(subscription["items"]["data"])
        if len(items) != 1:
            # A plan with add-ons: the item to move is the one of the same product
            # as the offer's price (a cheaper price of that product).
            product = _id(self.client.v1.prices.retrieve(price)["product"])
            items = [item for item in items if _id(_field(item["price"], "product")) == product]
            if len(items) != 1:
                raise TransportError(
                    f"Subscription {self.subscription_id} has {len(items)} items of product "
                    f"{product} (the product of {price}); a downgrade moves exactly one: "
                    "set the offer's stripe_price to a price of the product to move.",
                    permanent=True,
                )
        return {
            "items": [{"id": items[0]["id"], "price": price}],
            "proration_behavior": "none",
        }

    def cancellation(self) -> dict[str, Any]:
        answer = self.data.get("answer") or {}
        details: dict[str, str] = {}
        category = answer.get("category") or ""
        if category:
            # The taxonomy's mapping: sending needs no database query.
            details["feedback"] = CATEGORIES.get(category, (0, "other"))[1]
        comment = str(answer.get("text") or "").strip()
        if comment:
            details["comment"] = comment[:COMMENT_LENGTH]
        params: dict[str, Any] = {"cancel_at_period_end": True}
        if details:
            params["cancellation_details"] = details
        return params


@register
class StripeBillingTransport(Transport):
    kind = BILLING_KIND

    def send(self, delivery: Delivery) -> int | None:
        workspace = delivery.workspace
        if not workspace.stripe_enabled or not workspace.stripe_secret_key:
            raise TransportError(
                "Stripe billing is off or has no key for this workspace: "
                "turn it on in the workspace settings, then retry this delivery.",
                permanent=True,
            )
        data = delivery.event.payload.get("data", {})
        outcome = StripeOutcome(
            stripe_client(workspace.stripe_secret_key),
            data=data,
            event_id=delivery.event.event_id,
        )
        if not outcome.subscription_id.startswith("sub_"):
            raise TransportError(
                f"{outcome.subscription_id[:60]!r} is not a Stripe subscription id (sub_…): "
                "open sessions with it, or give it as metadata stripe_subscription_id.",
                permanent=True,
            )
        try:
            return outcome.apply()
        except stripe.StripeError as exc:
            raise _failure(exc) from None
        except (KeyError, TypeError, ValueError) as exc:
            raise TransportError(
                f"The accepted terms cannot be applied: {type(exc).__name__}: {exc}"[:480],
                permanent=True,
            ) from None
