"""Put a free-text answer in a category: the rules, the workspace's model and "I
don't know" weighed together, the winner's share calibrated into a confidence;
``other`` (queued for review) when nothing places it or the confidence is below
REVIEW_BELOW. Also finds the competitors an answer names.

``categorizer_for(workspace=...)`` is cached in process per
``(workspace.pk, workspace.public_id, workspace.config_version)``: on the request path it costs no
query; any change of rules, competitors or model bumps the version.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from surveys.categorization.classifier import Model
from surveys.categorization.lexicon import (
    Lexicon,
    Phrase,
    compile_lexicon,
    default_phrases,
    rule_scores,
)
from surveys.categorization.text import LATIN_END, LATIN_START, normalize
from surveys.categorization.unplaceable import non_answer_weight
from workspaces.config_cache import ConfigCache

if TYPE_CHECKING:
    from workspaces.models import Workspace

# How rules, the model and "I don't know" are mixed (chosen by cross-validation on
# the training file, never on the held-out file; see the README):
# rules weigh 1 - exp(-score / RULE_SCALE): a weak word (1) 0.63, a strong
# phrase (3) 0.95, split between the categories they speak for;
RULE_SCALE = 1.0
# the model weighs distinct / (distinct + MODEL_TRUST_TEXTS) times the share of
# the text it has seen before (``coverage``): a model of 44 distinct sentences
# weighs 0.1 at most, one of 1,000 about 0.7, and nothing on words it never met;
MODEL_TRUST_TEXTS = 400
# and "other" (I don't know) always weighs UNKNOWN_WEIGHT: text nothing speaks for
# ends there.
UNKNOWN_WEIGHT = 0.15
COMPETITOR_WEIGHT = 4.0
# The mixed share of the winning category, mapped to how often such answers were
# right (isotonic fit on cross-validated predictions, see ``fit_calibration``);
# separate maps for rules alone, rules with a model, and the model alone.
# (``categorize_eval --tune`` prints them.) Never above MAX_CONFIDENCE.
CALIBRATION_RULES: tuple[tuple[float, float], ...] = (
    (0.284, 0.0), (0.361, 0.48), (0.393, 0.5), (0.396, 0.75),
    (0.487, 0.917), (0.605, 0.96), (0.716, 0.986), (0.766, 1.0),
)  # fmt: skip
CALIBRATION_MODEL: tuple[tuple[float, float], ...] = (
    (0.297, 0.333), (0.357, 0.6), (0.403, 0.667), (0.46, 0.783),
    (0.514, 0.879), (0.593, 0.986), (0.726, 0.996), (0.87, 1.0),
)  # fmt: skip
# The model alone (no rule spoke) is right less often at the same share.
CALIBRATION_MODEL_ALONE: tuple[tuple[float, float], ...] = (
    (0.436, 0.0), (0.512, 0.333), (0.742, 1.0),
)  # fmt: skip
MAX_CONFIDENCE = 0.99
# Below this calibrated confidence the guess is more often wrong than right: the
# answer is "other" and a person should look. On the dev folds (1,813 answers)
# thresholds from 0 to 0.4 give the same accuracy (96.6%), 0.5 and 0.6 cost 0.1
# and 0.2 points, 0.7 costs 1.2 points and sends 2.2 points more of placeable
# answers to review (categorize_eval --tune).
REVIEW_BELOW = 0.4


def calibrated(raw: float, knots: tuple[tuple[float, float], ...]) -> float:
    """Piecewise-linear through the knots (raw share -> observed accuracy),
    towards 0 below the first one, at most MAX_CONFIDENCE."""
    if raw <= knots[0][0]:
        x0, y0 = knots[0]
        return min(MAX_CONFIDENCE, y0 * raw / x0 if x0 > 0 else y0)
    for (x0, y0), (x1, y1) in itertools.pairwise(knots):
        if raw <= x1:
            value = y0 if x1 == x0 else y0 + (y1 - y0) * (raw - x0) / (x1 - x0)
            return min(MAX_CONFIDENCE, value)
    return min(MAX_CONFIDENCE, knots[-1][1])


@dataclass(frozen=True)
class Evidence:
    """What the categoriser weighed for one text (for evaluation and tuning)."""

    rule_scores: dict[str, float]
    model_probabilities: dict[str, float]
    coverage: float
    distinct_texts: int


@dataclass(frozen=True)
class Categorization:
    category: str
    confidence: float
    source: str  # "rule", "model" or "none"
    model_version: str
    competitors: tuple[int, ...]  # ids of the competitors named

    @property
    def needs_review(self) -> bool:
        """Unplaced ("other") or not sure enough: a person should look."""
        return self.category == "other" or self.confidence < REVIEW_BELOW


@dataclass(frozen=True)
class CompetitorPattern:
    id: int
    name: str
    pattern: re.Pattern[str]


def competitor_pattern(id: int, name: str, aliases: list[str]) -> CompetitorPattern:
    pieces = []
    for spelling in [name, *aliases]:
        spelling = normalize(spelling)
        if not spelling:
            continue
        latin = spelling[:1].isascii() and spelling[:1].isalnum()
        end_latin = spelling[-1:].isascii() and spelling[-1:].isalnum()
        pieces.append(
            (LATIN_START if latin else "") + re.escape(spelling) + (LATIN_END if end_latin else "")
        )
    return CompetitorPattern(id, name, re.compile("|".join(pieces) or r"(?!)"))


@dataclass(frozen=True)
class Categorizer:
    lexicon: Lexicon
    model: Model | None
    model_version: str
    competitors: tuple[CompetitorPattern, ...] = ()

    def competitors_in(self, text: str) -> tuple[int, ...]:
        normalized = normalize(text)
        return tuple(c.id for c in self.competitors if c.pattern.search(normalized))

    def evidence(self, text: str, competitors: tuple[int, ...] = ()) -> Evidence:
        scores = rule_scores(text, self.lexicon)
        if competitors:
            scores["competitor"] = scores.get("competitor", 0.0) + COMPETITOR_WEIGHT
        # A whole answer that says nothing ("other", "its complicated", "🙂") leaves
        # the model nothing to weigh (one of sentence vectors would read a meaning in).
        if self.model is None or not self.model.classes or non_answer_weight(normalize(text)):
            return Evidence(scores, {}, 0.0, 0)
        _best, _p, probabilities = self.model.predict(text)
        return Evidence(scores, probabilities, self.model.coverage(text), self.model.distinct_texts)

    def categorize(self, text: str) -> Categorization:
        competitors = self.competitors_in(text)
        evidence = self.evidence(text, competitors)
        category, confidence, source = decide(evidence, self.model is not None)
        return Categorization(
            category,
            confidence,
            source,
            self.model_version if source == "model" else "",
            competitors,
        )


def decide(
    evidence: Evidence,
    with_model: bool,
    *,
    rule_scale: float = RULE_SCALE,
    trust_texts: float = MODEL_TRUST_TEXTS,
    unknown: float = UNKNOWN_WEIGHT,
    review_below: float | None = None,
    calibrate: bool = True,
) -> tuple[str, float, str]:
    """(category, calibrated confidence, source) from the evidence: rules, the
    model and "I don't know" mixed by their weights; "other" when that wins or
    the winner is not sure enough, its confidence then the best real category's
    (low)."""
    scores = evidence.rule_scores
    total = sum(scores.values())
    rule_weight = 1 - math.exp(-total / rule_scale) if total > 0 else 0.0
    model_weight = 0.0
    if evidence.model_probabilities:
        distinct = evidence.distinct_texts
        model_weight = distinct / (distinct + trust_texts) * evidence.coverage
    parts: dict[str, tuple[float, float]] = {}
    for category in set(scores) | set(evidence.model_probabilities) | {"other"}:
        from_rules = rule_weight * scores.get(category, 0.0) / total if total else 0.0
        from_model = model_weight * evidence.model_probabilities.get(category, 0.0)
        parts[category] = (from_rules, from_model)
    weight = rule_weight + model_weight + unknown
    mixed = {c: (r + m) / weight for c, (r, m) in parts.items()}
    mixed["other"] += unknown / weight
    if not with_model:
        knots = CALIBRATION_RULES
    else:
        knots = CALIBRATION_MODEL if total > 0 else CALIBRATION_MODEL_ALONE
    threshold = REVIEW_BELOW if review_below is None else review_below

    def confidence_of(share: float) -> float:
        return round(calibrated(share, knots) if calibrate else share, 3)

    # Ties (two phrases of the same weight, a model with nothing seen) go to the
    # model's own preference, then by name: never to the order of a set, which
    # changes from one process to the next.
    def rank(category: str) -> tuple[float, float, str]:
        return mixed[category], evidence.model_probabilities.get(category, 0.0), category

    placeable = [c for c in mixed if c != "other"]
    runner = max(placeable, key=rank) if placeable else ""
    best = max(mixed, key=rank)
    if best != "other":
        confidence = confidence_of(mixed[best])
        from_rules, from_model = parts[best]
        source = "rule" if from_rules >= from_model else "model"
        if confidence >= threshold:
            return best, confidence, source
        return "other", min(confidence, threshold - 0.001), source
    # "Other" won: a rule for non-answers ("no reason", "随便"), the model's own
    # "other" class, or nothing known at all.
    confidence = min(confidence_of(mixed[runner]), threshold - 0.001) if runner else 0.0
    from_rules, from_model = parts["other"]
    if from_rules == from_model == 0:
        return "other", confidence, "none"
    return "other", confidence, "rule" if from_rules >= from_model else "model"


def build_categorizer(
    *,
    rules: list[tuple[str, str, float]],
    competitors: list[tuple[int, str, list[str]]],
    model: Model | None,
    model_version: str = "",
) -> Categorizer:
    """From plain data: ``rules`` as (phrase, category, weight), competitors as
    (id, name, aliases)."""
    phrases = default_phrases("")
    phrases += [Phrase(text, category, weight) for text, category, weight in rules]
    return Categorizer(
        lexicon=compile_lexicon(phrases),
        model=model,
        model_version=model_version,
        competitors=tuple(competitor_pattern(*c) for c in competitors),
    )


def _load_categorizer(workspace: Workspace) -> Categorizer:
    from surveys.selectors import categorizer_data

    return build_categorizer(**categorizer_data(workspace_id=workspace.pk))


_CATEGORIZERS: ConfigCache[Categorizer] = ConfigCache(_load_categorizer)


def categorizer_for(*, workspace: Workspace) -> Categorizer:
    """The workspace's categoriser, built once per configuration version."""
    return _CATEGORIZERS.get(workspace)
