"""Writes for offers, targeting rules and experiments; what accepting an offer
means in dates and amounts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from config.errors import Conflict, Invalid, NotFound
from offers.models import (
    Experiment,
    ExperimentStatus,
    ExperimentVariant,
    Offer,
    OfferKind,
    OfferRule,
    billing_terms_errors,
    offer_rule_errors,
    pause_bounds,
    validate_terms,
)
from offers.presentation import add_months, offer_start_date
from workspaces.models import Workspace
from workspaces.services import workspace_config_bump

if TYPE_CHECKING:
    from outbound.models import OutboxEvent
    from surveys.models import CancelSession


def offer_create(
    *,
    workspace: Workspace,
    name: str,
    kind: str,
    terms: dict[str, Any],
    copy: dict[str, dict[str, str]],
    categories: list[str] | None = None,
    priority: int = 100,
    max_uses_per_customer: int | None = None,
) -> Offer:
    """Create an offer after checking its terms. With ``categories``, a targeting
    rule showing it for those categories is made too (at the offer's priority)."""
    if kind not in OfferKind.values:
        raise Invalid(f"Unknown offer kind {kind!r}.", fields={"kind": "unknown kind"})
    errors = validate_terms(kind, terms) or billing_terms_errors(workspace, kind, terms)
    if errors:
        raise Invalid("The offer's terms are not valid.", fields={"terms": errors})
    if max_uses_per_customer is not None and max_uses_per_customer < 1:
        raise Invalid(
            "max_uses_per_customer must be at least 1 (or left out for no cap).",
            fields={"max_uses_per_customer": "at least 1"},
        )
    with transaction.atomic():
        offer = Offer.objects.create(
            workspace=workspace,
            name=name,
            kind=kind,
            terms=terms,
            copy=copy,
            priority=priority,
            max_uses_per_customer=max_uses_per_customer,
        )
        if categories:
            offer_rule_create(
                workspace=workspace,
                name=f"{name} ({', '.join(categories)})"[:200],
                offer=offer,
                categories=list(categories),
                priority=priority,
            )
        workspace_config_bump(workspace_id=workspace.pk)
    return offer


def offer_rule_create(
    *,
    workspace: Workspace,
    name: str,
    offer: Offer | None = None,
    experiment: Experiment | None = None,
    reasons: list[str] | None = None,
    categories: list[str] | None = None,
    plans: list[str] | None = None,
    locales: list[str] | None = None,
    min_mrr_cents: int | None = None,
    max_mrr_cents: int | None = None,
    min_tenure_days: int | None = None,
    max_tenure_days: int | None = None,
    metadata: dict[str, Any] | None = None,
    priority: int = 100,
) -> OfferRule:
    """A targeting rule: when its conditions hold, show ``offer``, or a variant of
    ``experiment``, or (naming neither) no offer. Contradictory conditions are
    refused: a rule no session could match is a mistake, not a configuration."""

    def listed(value: Any) -> Any:
        return list(value) if isinstance(value, list | tuple) else value

    values: dict[str, Any] = {
        "reasons": listed(reasons if reasons is not None else []),
        "categories": listed(categories if categories is not None else []),
        "plans": listed(plans if plans is not None else []),
        "locales": listed(locales if locales is not None else []),
        "metadata": metadata if metadata is not None else {},
        "min_mrr_cents": min_mrr_cents,
        "max_mrr_cents": max_mrr_cents,
        "min_tenure_days": min_tenure_days,
        "max_tenure_days": max_tenure_days,
    }
    errors = offer_rule_errors(
        workspace_id=workspace.pk, offer=offer, experiment=experiment, **values
    )
    if errors:
        raise Invalid(
            "The rule's conditions contradict each other or are not valid: "
            + "; ".join(f"{k}: {v}" for k, v in errors.items()),
            code="invalid_rule",
            fields=errors,
        )
    with transaction.atomic():
        rule = OfferRule.objects.create(
            workspace=workspace,
            name=name,
            offer=offer,
            experiment=experiment,
            priority=priority,
            **values,
        )
        workspace_config_bump(workspace_id=workspace.pk)
    return rule


def experiment_create(
    *, workspace: Workspace, name: str, variants: list[tuple[str, Offer | None, int]]
) -> Experiment:
    """A running experiment with its variants: (name, offer or None for the
    no-offer control, weight). Point a rule at it to put it in front of customers."""
    if len(variants) < 2:
        raise Invalid("An experiment compares at least two variants.", fields={"variants": "2+"})
    if any(weight < 0 for _n, _o, weight in variants) or not sum(w for *_x, w in variants):
        raise Invalid("Weights are 0 or more, and not all 0.", fields={"variants": "weights"})
    if any(o is not None and o.workspace_id != workspace.pk for _n, o, _w in variants):
        raise Invalid("Every offer must be this workspace's.", fields={"variants": "offer"})
    with transaction.atomic():
        experiment = Experiment.objects.create(workspace=workspace, name=name)
        ExperimentVariant.objects.bulk_create(
            ExperimentVariant(experiment=experiment, name=n, offer=o, weight=w)
            for n, o, w in variants
        )
        workspace_config_bump(workspace_id=workspace.pk)
    return experiment


def experiment_stop(
    *, workspace: Workspace, experiment_id: int, winner_id: int, now: datetime | None = None
) -> Experiment:
    """Stop an experiment and keep the winner: its rules show the winner's offer
    (or nothing, when the control won) to everyone from now on. Stopping again
    with the same winner is harmless; with another winner it is a conflict."""
    now = now or timezone.now()
    with transaction.atomic():
        experiment = (
            Experiment.objects.select_for_update()
            .filter(workspace=workspace, pk=experiment_id)
            .first()
        )
        if experiment is None:
            raise NotFound("No such experiment in this workspace.", code="experiment_not_found")
        if not ExperimentVariant.objects.filter(experiment=experiment, pk=winner_id).exists():
            raise Invalid(
                "The winner must be one of this experiment's variants.",
                code="unknown_variant",
                fields={"winner": "not a variant of this experiment"},
            )
        if experiment.status == ExperimentStatus.STOPPED:
            if experiment.winner_id == winner_id:
                return experiment
            raise Conflict(
                "This experiment is already stopped with another winner.",
                code="experiment_stopped",
            )
        experiment.status = ExperimentStatus.STOPPED
        experiment.winner_id = winner_id
        experiment.stopped_at = now
        experiment.save(update_fields=["status", "winner", "stopped_at"])
        workspace_config_bump(workspace_id=workspace.pk)
    return experiment


# --- Accepting ------------------------------------------------------------------------


def accepted_terms_for(
    *, offer: Offer, session: CancelSession, months: int | None, now: datetime
) -> dict[str, Any]:
    """The terms as applied for this customer: the offer's terms, what they chose
    (the pause length) and the dates that follow. Raises ``Invalid`` for a pause
    length that is missing or outside the offer's bounds, or months given for an
    offer that has none to choose."""
    terms = dict(offer.terms or {})
    start = offer_start_date(session, now)
    applied: dict[str, Any] = {"kind": offer.kind, **terms}
    if offer.kind == OfferKind.PAUSE:
        low, high = pause_bounds(terms)
        if months is None:
            raise Invalid(
                "Please choose how many months to pause.",
                code="months_required",
                fields={"months": f"required: a whole number from {low} to {high}"},
            )
        if not low <= months <= high:
            raise Invalid(
                f"A pause is {low} to {high} months; {months} is outside that.",
                code="months_out_of_range",
                fields={"months": f"a whole number from {low} to {high}"},
            )
        applied.update(
            months=months,
            starts_on=start.isoformat(),
            resumes_on=add_months(start, months).isoformat(),
        )
        return applied
    if months is not None:
        raise Invalid(
            "Only a pause offer takes a number of months.",
            code="months_not_applicable",
            fields={"months": "leave it out for this offer"},
        )
    if offer.kind in (OfferKind.DISCOUNT_PERCENT, OfferKind.DISCOUNT_AMOUNT):
        applied.update(
            starts_on=start.isoformat(),
            ends_on=add_months(start, int(terms["months"])).isoformat(),
            then_price_cents=session.mrr_cents,
            currency=session.currency,
        )
    elif offer.kind == OfferKind.DOWNGRADE:
        applied.update(
            starts_on=start.isoformat(),
            from_plan=session.plan,
            from_price_cents=session.mrr_cents,
            currency=session.currency,
        )
    elif offer.kind in (OfferKind.EXTENSION, OfferKind.TRIAL_EXTENSION):
        applied.update(
            starts_on=start.isoformat(),
            extended_until=(start + timedelta(days=int(terms["days"]))).isoformat(),
        )
    elif offer.kind == OfferKind.SUPPORT:
        applied.update(callback_requested=True)
    return applied


# --- Confirmation email to the customer ---------------------------------------------------

CONFIRMATION_KIND = "customer_email"
# One confirmation and one billing delivery per outcome event (the delivery's
# key, unique per event).
CONFIRMATION_KEY = "customer"
BILLING_KEY = "stripe"


def outcome_confirmation_queue(*, session: CancelSession, event: OutboxEvent | None) -> None:
    """When the workspace asks for it, email the customer what happens now (saved
    with which terms, or cancelled and until when). It goes through the delivery
    machinery (a row written with the outcome, sent by a worker, retried and
    recorded), never from the request. One query, only when enabled."""
    from outbound.services import delivery_create
    from surveys.models import Outcome

    if (
        event is None
        or not session.workspace.send_confirmation_email
        or not session.customer_email
        or session.outcome not in (Outcome.SAVED, Outcome.CANCELLED)
        or session.kept  # kept without an offer: nothing changed, nothing to confirm
    ):
        return
    delivery_create(event=event, kind=CONFIRMATION_KIND, key=CONFIRMATION_KEY)


# --- Applying outcomes in Stripe ------------------------------------------------------------

BILLING_KIND = "stripe"
# Accepted offers that change what Stripe bills; a support callback changes nothing.
BILLED_OFFER_KINDS = frozenset(
    {
        OfferKind.DISCOUNT_PERCENT,
        OfferKind.DISCOUNT_AMOUNT,
        OfferKind.PAUSE,
        OfferKind.DOWNGRADE,
        OfferKind.EXTENSION,
        OfferKind.TRIAL_EXTENSION,
    }
)


def outcome_billing_queue(*, session: CancelSession, event: OutboxEvent | None) -> None:
    """When the workspace applies outcomes in Stripe, queue applying this one (a
    coupon, a pause, a price change, a later start, a cancellation at period end)
    as a delivery written in the outcome's transaction: sent by a worker, retried
    with backoff, every try recorded, a failure dead and visible, never lost.
    One query, only when enabled and the outcome changes billing (a customer who
    kept their subscription without an offer changes nothing)."""
    from outbound.services import delivery_create
    from surveys.models import Outcome

    if event is None or not session.workspace.stripe_enabled:
        return
    if session.outcome == Outcome.CANCELLED or (
        session.outcome == Outcome.SAVED
        and not session.kept
        and session.offer is not None
        and session.offer.kind in BILLED_OFFER_KINDS
    ):
        delivery_create(event=event, kind=BILLING_KIND, key=BILLING_KEY)
