"""The one rule engine: offers' targeting rules and alerts' routing rules.

A rule looks at the facts of a session (``SessionFacts``, built once by
``session_facts``) through its conditions (``Conditions``). Both kinds of rules
share the same conditions, the same validation (``conditions_validate``: the
problems by field, for admin forms and APIs alike) and the same matching
(``conditions_match``); each kind (``TARGETING``, ``ROUTING``) allows the
conditions that make sense for it. An empty condition matches everything.

Pure functions of the facts: no query, no model of a higher app. Each app loads
its own rules from its own model (``offers.selectors.offer_rules``,
``alerts.selectors.routing_config``), turns them into ``Conditions`` with
``RuleKind.conditions_of`` and caches the result per configuration version
(``workspaces.config_cache.ConfigCache``); what a match then does (an offer, an
experiment's variant, an alert per team) is the app's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings

from surveys.models import CancelSession, Outcome
from surveys.risk import risk_score
from surveys.taxonomy import CATEGORIES

# --- Facts ------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionFacts:
    """What rules look at. Targeting reads a session being answered (no outcome
    yet); routing reads a session with its outcome."""

    category: str = ""
    reason: str = ""
    outcome: str = ""
    plan: str = ""
    mrr_cents: int = 0
    tenure_days: int | None = None
    risk_score: int = 0
    accepted_offer_kind: str = ""
    locale: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)


def tenure_days(started_at: datetime | None, at: datetime) -> int | None:
    """Whole days subscribed at ``at``; None when the start is unknown."""
    if started_at is None:
        return None
    return max(0, (at - started_at).days)


def session_facts(session: CancelSession, *, at: datetime | None = None) -> SessionFacts:
    """The facts of ``session`` as it stands, tenure counted at ``at`` (by default
    when it ended, or else when it started). Reads the session's answer, offer
    and workspace: load them with it."""
    response = getattr(session, "response", None)
    category = response.category_id if response is not None else ""
    tenure = tenure_days(
        session.subscription_started_at, at or session.completed_at or session.created_at
    )
    accepted = (
        session.offer.kind
        if session.offer is not None and session.outcome == Outcome.SAVED and not session.kept
        else ""
    )
    return SessionFacts(
        category=category or "",
        reason=response.reason_code if response is not None else "",
        outcome=session.outcome,
        plan=session.plan,
        mrr_cents=session.mrr_cents,
        tenure_days=tenure,
        risk_score=risk_score(
            mrr_cents=session.mrr_cents, tenure=tenure, category=category, outcome=session.outcome
        ),
        accepted_offer_kind=accepted,
        locale=session.locale or session.workspace.default_locale,
        metadata=session.metadata or {},
    )


# --- Conditions -----------------------------------------------------------------------

# Conditions that list codes: the fact must be one of them. Each names its fact.
CODE_CONDITIONS: dict[str, str] = {
    "categories": "category",
    "reasons": "reason",
    "outcomes": "outcome",
    "plans": "plan",
    "offer_kinds": "accepted_offer_kind",
    "locales": "locale",
}
# Bounds, inclusive: (minimum, maximum, what they bound, its fact).
RANGE_CONDITIONS: list[tuple[str, str | None, str, str]] = [
    ("min_mrr_cents", "max_mrr_cents", "MRR", "mrr_cents"),
    ("min_tenure_days", "max_tenure_days", "tenure", "tenure_days"),
    ("min_risk_score", None, "risk score", "risk_score"),
]
NUMBER_CONDITIONS = [name for low, high, _, _ in RANGE_CONDITIONS for name in (low, high) if name]


class _Unmatchable:
    """Stands for a listed value no fact can equal (a stored list holding a
    number or an object): the condition is not empty, and never holds for it."""

    def __repr__(self) -> str:
        return "<unmatchable>"


_UNMATCHABLE = _Unmatchable()


def _codes(value: Any) -> frozenset[Any]:
    if not value:
        return frozenset()
    if isinstance(value, str):
        return frozenset([value])
    try:
        items = list(value)
    except TypeError:
        return frozenset([_UNMATCHABLE])
    return frozenset(item if isinstance(item, str) else _UNMATCHABLE for item in items)


def _entries(value: Any) -> tuple[tuple[str, Any], ...]:
    if not value:
        return ()
    if not isinstance(value, Mapping):
        return (("", _UNMATCHABLE),)
    return tuple(sorted(value.items()))


@dataclass(frozen=True)
class Conditions:
    """Every condition any rule can have; each kind of rule uses some of them."""

    categories: frozenset[str] = frozenset()
    reasons: frozenset[str] = frozenset()
    outcomes: frozenset[str] = frozenset()
    plans: frozenset[str] = frozenset()
    offer_kinds: frozenset[str] = frozenset()
    locales: frozenset[str] = frozenset()
    min_mrr_cents: int | None = None
    max_mrr_cents: int | None = None
    min_tenure_days: int | None = None
    max_tenure_days: int | None = None
    min_risk_score: int | None = None
    # Entries the session's metadata must contain, sorted by key.
    metadata: tuple[tuple[str, Any], ...] = ()
    _listed: tuple[tuple[str, frozenset[str]], ...] = field(
        init=False, repr=False, compare=False, default=()
    )
    _bounded: tuple[tuple[str, int | None, int | None], ...] = field(
        init=False, repr=False, compare=False, default=()
    )

    def __post_init__(self) -> None:
        # The conditions given, worked out once: matching (on the flow's hot
        # path) then looks at those only.
        codes = tuple(
            (fact, getattr(self, name))
            for name, fact in CODE_CONDITIONS.items()
            if getattr(self, name)
        )
        bounds = tuple(
            (fact, getattr(self, low), getattr(self, high) if high else None)
            for low, high, _label, fact in RANGE_CONDITIONS
            if getattr(self, low) is not None or (high and getattr(self, high) is not None)
        )
        object.__setattr__(self, "_listed", codes)
        object.__setattr__(self, "_bounded", bounds)


ALL_CONDITIONS = (*CODE_CONDITIONS, *NUMBER_CONDITIONS, "metadata")


@dataclass(frozen=True)
class RuleKind:
    """A kind of rule and the conditions it allows."""

    name: str
    allowed: tuple[str, ...]

    def __post_init__(self) -> None:
        unknown = set(self.allowed) - set(ALL_CONDITIONS)
        if unknown:
            raise ValueError(f"Unknown conditions for {self.name} rules: {sorted(unknown)}")

    def conditions_of(self, source: Any) -> Conditions:
        """The conditions of a rule, read from a model instance or a mapping of
        field values; conditions this kind does not allow stay empty."""
        values: dict[str, Any] = {}
        for name in self.allowed:
            value = source.get(name) if isinstance(source, Mapping) else getattr(source, name, None)
            if name in CODE_CONDITIONS:
                values[name] = _codes(value)
            elif name == "metadata":
                values[name] = _entries(value)
            else:
                values[name] = value
        return Conditions(**values)


TARGETING = RuleKind(
    "targeting",
    (
        "reasons",
        "categories",
        "plans",
        "locales",
        "min_mrr_cents",
        "max_mrr_cents",
        "min_tenure_days",
        "max_tenure_days",
        "metadata",
    ),
)
ROUTING = RuleKind(
    "routing",
    (
        "categories",
        "reasons",
        "outcomes",
        "plans",
        "offer_kinds",
        "min_mrr_cents",
        "min_tenure_days",
        "max_tenure_days",
        "min_risk_score",
    ),
)


# --- Validation ----------------------------------------------------------------------


def is_whole_number(value: Any) -> bool:
    """An int, and not a bool (JSON's true is not 1 here)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _string_list(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)


def conditions_validate(kind: RuleKind, values: Mapping[str, Any]) -> dict[str, str]:
    """The problems with the conditions in ``values`` that ``kind`` allows, by
    field (empty when valid): a value of the wrong shape, an unknown category,
    language or outcome, a minimum above its maximum (no session could match).
    Conditions missing from ``values`` are not checked."""
    given = {name: values[name] for name in kind.allowed if name in values}
    errors: dict[str, str] = {}
    for name in CODE_CONDITIONS:
        if name in given and not _string_list(given[name]):
            errors[name] = "a list of strings"
    known: list[tuple[str, str, list[str], bool]] = [
        ("categories", "categories", list(CATEGORIES), False),
        ("locales", "languages", [code for code, _name in settings.LANGUAGES], True),
        ("outcomes", "outcomes", list(Outcome.values), False),
    ]
    for name, label, codes, list_known in known:
        if name in errors or not given.get(name):
            continue
        unknown = [code for code in given[name] if code not in codes]
        if unknown:
            message = f"unknown {label}: {', '.join(unknown)}"
            errors[name] = message + (f" (known: {', '.join(codes)})" if list_known else "")
    if "metadata" in given and not isinstance(given["metadata"], Mapping):
        errors["metadata"] = "an object whose entries the session's metadata must contain"
    for low_name, high_name, label, _fact in RANGE_CONDITIONS:
        for bound in (low_name, high_name):
            value = given.get(bound) if bound else None
            if bound and value is not None and (not is_whole_number(value) or value < 0):
                errors[bound] = "a whole number, 0 or more"
        if high_name is None or low_name in errors or high_name in errors:
            continue
        low, high = given.get(low_name), given.get(high_name)
        if low is not None and high is not None and low > high:
            errors[high_name] = (
                f"must not be below the minimum {label} ({low_name} {low}): no session could match"
            )
    return errors


# --- Matching ------------------------------------------------------------------------


def conditions_match(conditions: Conditions, facts: SessionFacts) -> bool:
    """Whether every condition holds for ``facts``. A bound on a fact that is
    unknown (a tenure without a subscription start) does not hold."""
    for fact_name, listed in conditions._listed:
        if getattr(facts, fact_name) not in listed:
            return False
    for fact_name, low, high in conditions._bounded:
        fact = getattr(facts, fact_name)
        if fact is None:
            return False
        if low is not None and fact < low:
            return False
        if high is not None and fact > high:
            return False
    return all(
        key in facts.metadata and facts.metadata[key] == value for key, value in conditions.metadata
    )
