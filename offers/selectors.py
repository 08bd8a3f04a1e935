"""Reads for offers: which offer, if any, a session should see; how experiments
are doing."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q, Sum

from offers.models import (
    Experiment,
    ExperimentStatus,
    ExperimentVariant,
    Offer,
    OfferRule,
)

# The facts, the conditions and the matching are the shared rule engine's;
# ``SessionFacts`` and ``tenure_days`` stay importable from here for the flow.
from offers.statistics import (
    ZTest,
    sample_size_per_arm,
    two_proportion_z_test,
    wilson_interval,
)
from surveys.rules import TARGETING, Conditions, conditions_match
from surveys.rules import SessionFacts as SessionFacts
from surveys.rules import tenure_days as tenure_days
from workspaces.config_cache import ConfigCache
from workspaces.models import Workspace

# --- The targeting configuration, cached per configuration version -------------------


@dataclass(frozen=True)
class VariantConfig:
    id: int
    name: str
    weight: int
    offer: Offer | None


@dataclass(frozen=True)
class ExperimentConfig:
    id: int
    status: str
    winner_id: int | None
    variants: tuple[VariantConfig, ...]

    @property
    def winner(self) -> VariantConfig | None:
        return next((v for v in self.variants if v.id == self.winner_id), None)


@dataclass(frozen=True)
class RuleConfig:
    id: int
    name: str
    priority: int
    conditions: Conditions
    offer: Offer | None
    experiment: ExperimentConfig | None


_RULE_FIELDS = [
    "id",
    "name",
    "priority",
    *TARGETING.allowed,
    "experiment_id",
    "experiment__status",
    "experiment__winner_id",
    "experiment__variants__id",
    "experiment__variants__name",
    "experiment__variants__weight",
]
_OFFER_FIELDS = [f.attname for f in Offer._meta.concrete_fields]


def _offer_from(row: dict[str, Any], prefix: str) -> Offer | None:
    if row[f"{prefix}id"] is None:
        return None
    return Offer.from_db("default", _OFFER_FIELDS, [row[prefix + name] for name in _OFFER_FIELDS])


def _load_rules(workspace: Workspace) -> tuple[RuleConfig, ...]:
    """The workspace's active rules with their offers and experiments (with every
    variant and its offer), in ONE query: the first answer after a configuration
    change pays for it and the flow's query budget still holds."""
    offer_paths = [f"offer__{name}" for name in _OFFER_FIELDS]
    variant_offer_paths = [f"experiment__variants__offer__{name}" for name in _OFFER_FIELDS]
    rows = (
        OfferRule.objects.filter(workspace=workspace, is_active=True)
        .order_by("priority", "id", "experiment__variants__id")
        .values(*_RULE_FIELDS, *offer_paths, *variant_offer_paths)
    )
    rules: dict[int, dict[str, Any]] = {}
    variants: dict[int, dict[int, VariantConfig]] = {}
    for row in rows:
        rules.setdefault(row["id"], row)
        variant_id = row["experiment__variants__id"]
        if variant_id is not None:
            variants.setdefault(row["id"], {})[variant_id] = VariantConfig(
                id=variant_id,
                name=row["experiment__variants__name"],
                weight=row["experiment__variants__weight"],
                offer=_offer_from(row, "experiment__variants__offer__"),
            )
    found = []
    for rule_id, row in rules.items():
        experiment = None
        if row["experiment_id"] is not None:
            experiment = ExperimentConfig(
                id=row["experiment_id"],
                status=row["experiment__status"],
                winner_id=row["experiment__winner_id"],
                variants=tuple(variants.get(rule_id, {}).values()),
            )
        found.append(
            RuleConfig(
                id=rule_id,
                name=row["name"],
                priority=row["priority"],
                conditions=TARGETING.conditions_of(row),
                offer=_offer_from(row, "offer__"),
                experiment=experiment,
            )
        )
    return tuple(found)


_RULES: ConfigCache[tuple[RuleConfig, ...]] = ConfigCache(_load_rules)


def offer_rules(*, workspace: Workspace) -> tuple[RuleConfig, ...]:
    """The active rules by priority (cached per configuration version: no query)."""
    return _RULES.get(workspace)


# --- Picking ----------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerHistory:
    """The customer's past acceptances (from the flow's locked-session query)."""

    last_saved_at: datetime | None = None
    accepted_offer_ids: tuple[int, ...] = ()

    def uses(self, offer_id: int) -> int:
        return Counter(self.accepted_offer_ids)[offer_id]


@dataclass(frozen=True)
class OfferPick:
    offer: Offer | None
    variant_id: int | None = None
    rule_id: int | None = None
    why: str = ""


def variant_for(experiment_id: int, customer_id: str, variants: tuple[VariantConfig, ...]) -> Any:
    """The customer's arm: sha256 of "experiment id:customer id" as a number in
    [0, 1), placed on the variants' cumulative weights (in id order). The same
    customer always lands in the same arm."""
    weighted = [v for v in sorted(variants, key=lambda v: v.id) if v.weight > 0]
    total = sum(v.weight for v in weighted)
    if not total:
        return None
    digest = hashlib.sha256(f"{experiment_id}:{customer_id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64 * total
    upto = 0.0
    for variant in weighted:
        upto += variant.weight
        if point < upto:
            return variant
    return weighted[-1]


def offer_pick(
    *,
    workspace: Workspace,
    facts: SessionFacts,
    customer_id: str,
    history: CustomerHistory,
    now: datetime,
) -> OfferPick:
    """The one offer (or none) this answer gets. No query.

    A customer who accepted an offer within the workspace's cooldown gets none:
    offers must not become a discount loop. Otherwise the first matching rule
    decides; a rule whose offer is inactive, or that this customer has used up
    (``max_uses_per_customer``), is passed over.
    """
    cooldown = workspace.offer_cooldown_days
    if (
        cooldown
        and history.last_saved_at is not None
        and history.last_saved_at > now - timedelta(days=cooldown)
    ):
        return OfferPick(offer=None, why="cooldown")

    def usable(offer: Offer | None) -> bool:
        if offer is None:
            return True  # showing nothing is always possible
        if not offer.is_active:
            return False
        cap = offer.max_uses_per_customer
        return not cap or history.uses(offer.pk) < cap

    for rule in offer_rules(workspace=workspace):
        if not conditions_match(rule.conditions, facts):
            continue
        experiment = rule.experiment
        if experiment is None:
            if usable(rule.offer):
                return OfferPick(offer=rule.offer, rule_id=rule.id, why="rule")
            continue
        if experiment.status == ExperimentStatus.STOPPED:
            winner = experiment.winner
            offer = winner.offer if winner is not None else None
            if usable(offer):
                return OfferPick(offer=offer, rule_id=rule.id, why="winner")
            continue
        variant = variant_for(experiment.id, customer_id, experiment.variants)
        if variant is None:
            continue
        if usable(variant.offer):
            return OfferPick(
                offer=variant.offer, variant_id=variant.id, rule_id=rule.id, why="experiment"
            )
    return OfferPick(offer=None, why="no_rule")


def offers_by_id(*, workspace: Workspace, ids: list[int]) -> dict[int, Offer]:
    """The workspace's offers with these ids (others' ids are ignored)."""
    if not ids:
        return {}
    return {o.pk: o for o in Offer.objects.filter(workspace=workspace, pk__in=ids)}


def offer_cost_cents(
    *, offer: Offer, saved_sessions: int, saved_mrr_cents: int, within_months: int | None = None
) -> int:
    """What accepted offers give away, from the offer's terms: a percent discount
    costs that share of the MRR for its months, a fixed discount its amount for its
    months, a free extension its days of MRR, a downgrade the monthly MRR given up
    by moving to the cheaper price (for one month, or for ``within_months``). A
    pause defers revenue rather than giving it away, and a support call gives
    nothing away: both count 0. ``within_months``: only what is given away in the
    first that many months (to set against the MRR kept over the same months)."""
    terms = offer.terms or {}

    def months(n: int) -> float:
        return n if within_months is None else min(n, within_months)

    if offer.kind == "discount_percent":
        return round(
            saved_mrr_cents
            * int(terms.get("percent", 0))
            / 100
            * months(int(terms.get("months", 0)))
        )
    if offer.kind == "discount_amount":
        return round(
            saved_sessions * int(terms.get("amount_cents", 0)) * months(int(terms.get("months", 0)))
        )
    if offer.kind in ("extension", "trial_extension"):
        days = int(terms.get("days", 0))
        if within_months is not None:
            days = min(days, within_months * 30)
        return round(saved_mrr_cents * days / 30)
    if offer.kind == "downgrade":
        monthly = max(saved_mrr_cents - saved_sessions * int(terms.get("price_cents", 0)), 0)
        return monthly * (within_months or 1)
    return 0


# --- Experiments --------------------------------------------------------------------

# No arm is called better or worse than the control before it and the control
# have each been assigned this many customers, however small the p-value.
EXPERIMENT_MIN_SAMPLE = 100
SIGNIFICANCE = 0.05


class Reading:
    """What an arm's figures say so far, against the control."""

    CONTROL = "control"
    NO_CONTROL = "no_control"  # nothing to compare with
    TOO_EARLY = "too_early"  # the arm or the control is under EXPERIMENT_MIN_SAMPLE
    FEWER_CANCELLATIONS = "fewer_cancellations"  # significantly fewer than the control
    MORE_CANCELLATIONS = "more_cancellations"
    NO_DIFFERENCE = "no_difference"  # not significant at 5%


@dataclass(frozen=True)
class VariantResult:
    id: int
    name: str
    offer_id: int | None
    offer_name: str
    weight: int
    is_control: bool
    is_winner: bool
    assigned: int  # reached the offer step in this arm (answered the survey)
    accepted: int  # took the arm's offer
    kept: int  # stayed: saved, with or without the offer
    cancelled: int
    abandoned: int
    cancel_rate: float | None  # cancelled / assigned: the primary figure
    cancel_interval: tuple[float, float] | None
    difference: float | None  # cancel rate minus the control's
    z: float | None
    p_value: float | None
    # Customers each arm needs for 80% power at the difference observed.
    sample_needed: int | None
    accept_rate: float | None  # accepted / assigned: the second figure
    accept_interval: tuple[float, float] | None
    mrr_kept_cents: int  # MRR of the customers who stayed
    reading: str


@dataclass(frozen=True)
class ExperimentResults:
    experiment: Experiment
    variants: list[VariantResult]
    control_id: int | None
    minimum_sample: int
    # The arms with significantly fewer cancellations than the control (with the
    # minimum sample), fewest cancellations first.
    better_ids: list[int]
    # The first of those, when it also has significantly fewer cancellations than
    # each of the others; else None (no winner to suggest yet).
    suggested_id: int | None


def experiments_for_workspace(*, workspace: Workspace) -> list[Experiment]:
    return list(
        Experiment.objects.filter(workspace=workspace)
        .select_related("winner")
        .annotate(
            assigned=Count(
                "variants__sessions", filter=Q(variants__sessions__answered_at__isnull=False)
            )
        )
        .order_by("-created_at", "-id")
    )


def experiment_get(*, workspace: Workspace, experiment_id: int) -> Experiment | None:
    return (
        Experiment.objects.filter(workspace=workspace, pk=experiment_id)
        .select_related("winner")
        .first()
    )


def experiment_results(*, experiment: Experiment) -> ExperimentResults:
    """Per variant, from the sessions themselves (two queries): the customers
    assigned (they reached the offer step: the variant is assigned at the answer)
    and what they did (accepted the offer, kept their subscription with or
    without it, cancelled, abandoned). The primary figure is the cancel rate
    (cancelled / assigned) with its 95% Wilson interval, its difference from the
    no-offer control with a two-proportion z-test, and the sample per arm that
    difference needs for 80% power; the accept rate is the second figure. No arm
    is read as better or worse before it and the control have
    ``EXPERIMENT_MIN_SAMPLE`` customers each, and a winner is suggested only when
    one arm has significantly fewer cancellations than the control and than every
    other such arm."""
    from surveys.models import CancelSession, Outcome

    variants = list(
        ExperimentVariant.objects.filter(experiment=experiment)
        .select_related("offer")
        .order_by("id")
    )
    saved = Q(outcome=Outcome.SAVED)
    counts: dict[int, dict[str, Any]] = {
        row["experiment_variant_id"]: dict(row)
        for row in CancelSession.objects.filter(
            experiment_variant__experiment=experiment, answered_at__isnull=False
        )
        .order_by()
        .values("experiment_variant_id")
        .annotate(
            assigned=Count("id"),
            accepted=Count("id", filter=saved & Q(kept=False)),
            kept_sessions=Count("id", filter=saved),
            cancelled=Count("id", filter=Q(outcome=Outcome.CANCELLED)),
            abandoned=Count("id", filter=Q(outcome=Outcome.ABANDONED)),
            mrr_kept=Sum("mrr_cents", filter=saved),
        )
    }
    control = next((v for v in variants if v.offer_id is None), None)
    control_row: dict[str, Any] = counts.get(control.pk, {}) if control is not None else {}
    control_assigned = int(control_row.get("assigned", 0))
    control_cancelled = int(control_row.get("cancelled", 0))
    results = []
    for variant in variants:
        row: dict[str, Any] = counts.get(variant.pk, {})
        assigned = int(row.get("assigned", 0))
        accepted = int(row.get("accepted", 0))
        cancelled = int(row.get("cancelled", 0))
        test = needed = None
        if control is None:
            reading = Reading.NO_CONTROL
        elif variant.pk == control.pk:
            reading = Reading.CONTROL
        else:
            test = two_proportion_z_test(cancelled, assigned, control_cancelled, control_assigned)
            if test is not None:
                needed = sample_size_per_arm(
                    cancelled / assigned, control_cancelled / control_assigned
                )
            reading = _reading(test, min(assigned, control_assigned))
        results.append(
            VariantResult(
                id=variant.pk,
                name=variant.name,
                offer_id=variant.offer_id,
                offer_name=variant.offer.name if variant.offer is not None else "",
                weight=variant.weight,
                is_control=variant.offer_id is None,
                is_winner=experiment.winner_id == variant.pk,
                assigned=assigned,
                accepted=accepted,
                kept=int(row.get("kept_sessions", 0)),
                cancelled=cancelled,
                abandoned=int(row.get("abandoned", 0)),
                cancel_rate=cancelled / assigned if assigned else None,
                cancel_interval=wilson_interval(cancelled, assigned),
                difference=test.difference if test else None,
                z=test.z if test else None,
                p_value=test.p_value if test else None,
                sample_needed=needed,
                accept_rate=accepted / assigned if assigned else None,
                accept_interval=wilson_interval(accepted, assigned),
                mrr_kept_cents=int(row.get("mrr_kept") or 0),
                reading=reading,
            )
        )
    better = sorted(
        (r for r in results if r.reading == Reading.FEWER_CANCELLATIONS),
        key=lambda r: (r.cancel_rate or 0.0, r.id),
    )
    suggested = better[0] if better else None
    for other in better[1:]:
        assert suggested is not None
        apart = two_proportion_z_test(
            suggested.cancelled, suggested.assigned, other.cancelled, other.assigned
        )
        if apart is None or apart.p_value >= SIGNIFICANCE:
            suggested = None  # better than the control, but not than each other yet
            break
    return ExperimentResults(
        experiment=experiment,
        variants=results,
        control_id=control.pk if control is not None else None,
        minimum_sample=EXPERIMENT_MIN_SAMPLE,
        better_ids=[r.id for r in better],
        suggested_id=suggested.id if suggested is not None else None,
    )


def _reading(test: ZTest | None, smallest_arm: int) -> str:
    if test is None or smallest_arm < EXPERIMENT_MIN_SAMPLE:
        return Reading.TOO_EARLY
    if test.p_value >= SIGNIFICANCE:
        return Reading.NO_DIFFERENCE
    return Reading.FEWER_CANCELLATIONS if test.difference < 0 else Reading.MORE_CANCELLATIONS
