"""Reads for offers: which offer, if any, a session should see; how experiments
are doing."""

from __future__ import annotations

import hashlib
import math
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

Z_95 = 1.959963984540054


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (95% by default); None for no trials."""
    if trials <= 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    # Rounding leaves a hair above 0 (or below 1) when the proportion is 0 (or 1).
    low = 0.0 if successes == 0 else max(centre - half, 0.0)
    high = 1.0 if successes == trials else min(centre + half, 1.0)
    return low, high


@dataclass(frozen=True)
class ZTest:
    difference: float  # p1 - p2
    z: float
    p_value: float


def two_proportion_z_test(x1: int, n1: int, x2: int, n2: int) -> ZTest | None:
    """Two-sided z-test of p1 = p2 with the pooled standard error. None when a
    group is empty; p = 1 when neither varies (all or none saved in both)."""
    if n1 <= 0 or n2 <= 0:
        return None
    p1, p2 = x1 / n1, x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return ZTest(difference=p1 - p2, z=0.0, p_value=1.0)
    z = (p1 - p2) / se
    return ZTest(difference=p1 - p2, z=z, p_value=math.erfc(abs(z) / math.sqrt(2)))


@dataclass(frozen=True)
class VariantResult:
    id: int
    name: str
    offer_id: int | None
    offer_name: str
    weight: int
    is_control: bool
    is_winner: bool
    shown: int
    accepted: int
    save_rate: float | None
    interval: tuple[float, float] | None
    difference: float | None  # save rate minus the control's
    z: float | None
    p_value: float | None
    mrr_saved_cents: int


@dataclass(frozen=True)
class ExperimentResults:
    experiment: Experiment
    variants: list[VariantResult]
    control_id: int | None


def experiments_for_workspace(*, workspace: Workspace) -> list[Experiment]:
    return list(
        Experiment.objects.filter(workspace=workspace)
        .select_related("winner")
        .annotate(
            shown=Count(
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
    """Per variant, from the sessions themselves (two queries): shown (assigned
    and answered: the variant is assigned at the answer), accepted (saved by the
    offer), the save rate with its 95% Wilson interval, the difference from the
    no-offer control with a two-proportion z-test, and the MRR saved."""
    from surveys.models import CancelSession, Outcome

    variants = list(
        ExperimentVariant.objects.filter(experiment=experiment)
        .select_related("offer")
        .order_by("id")
    )
    counts: dict[int, dict[str, Any]] = {
        row["experiment_variant_id"]: dict(row)
        for row in CancelSession.objects.filter(
            experiment_variant__experiment=experiment, answered_at__isnull=False
        )
        .order_by()
        .values("experiment_variant_id")
        .annotate(
            shown=Count("id"),
            accepted=Count("id", filter=Q(outcome=Outcome.SAVED)),
            mrr_saved=Sum("mrr_cents", filter=Q(outcome=Outcome.SAVED)),
        )
    }
    control = next((v for v in variants if v.offer_id is None), None)
    control_row: dict[str, Any] = counts.get(control.pk, {}) if control is not None else {}
    results = []
    for variant in variants:
        row: dict[str, Any] = counts.get(variant.pk, {})
        shown, accepted = int(row.get("shown", 0)), int(row.get("accepted", 0))
        test = None
        if control is not None and variant.pk != control.pk:
            test = two_proportion_z_test(
                accepted,
                shown,
                int(control_row.get("accepted", 0)),
                int(control_row.get("shown", 0)),
            )
        results.append(
            VariantResult(
                id=variant.pk,
                name=variant.name,
                offer_id=variant.offer_id,
                offer_name=variant.offer.name if variant.offer is not None else "",
                weight=variant.weight,
                is_control=variant.offer_id is None,
                is_winner=experiment.winner_id == variant.pk,
                shown=shown,
                accepted=accepted,
                save_rate=accepted / shown if shown else None,
                interval=wilson_interval(accepted, shown),
                difference=test.difference if test else None,
                z=test.z if test else None,
                p_value=test.p_value if test else None,
                mrr_saved_cents=int(row.get("mrr_saved") or 0),
            )
        )
    return ExperimentResults(
        experiment=experiment,
        variants=results,
        control_id=control.pk if control is not None else None,
    )
