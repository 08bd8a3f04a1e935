"""Put a free-text answer in a category: rules, then the workspace's model, then
``other`` (queued for review). Also finds the competitors an answer names.

``categorizer_for(workspace=...)`` is cached in process per
``(workspace.pk, workspace.public_id, workspace.config_version)``: on the request path it costs no
query; any change of rules, competitors or model bumps the version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from surveys.categorization.classifier import NaiveBayes
from surveys.categorization.lexicon import (
    Lexicon,
    Phrase,
    compile_lexicon,
    default_phrases,
    rule_scores,
)
from surveys.categorization.text import normalize
from workspaces.config_cache import ConfigCache

if TYPE_CHECKING:
    from workspaces.models import Workspace

# A rule decides alone when it is this sure; below REVIEW_BELOW a person should look.
RULE_DECIDES_AT = 0.5
RULE_MIN_SCORE = 1.5
# With no rule speaking, the model must be this sure, else "other" (naive Bayes
# is overconfident, and "other" answers have no words in common).
MODEL_ALONE_AT = 0.99
REVIEW_BELOW = 0.5
# How much the rules' share moves the model's probabilities when both speak.
RULE_BLEND = 1.0
COMPETITOR_WEIGHT = 4.0


@dataclass(frozen=True)
class Categorization:
    category: str
    confidence: float
    source: str  # "rule", "model" or "none"
    model_version: str
    competitors: tuple[int, ...]  # ids of the competitors named

    @property
    def needs_review(self) -> bool:
        return self.confidence < REVIEW_BELOW


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
        pieces.append((r"\b" if latin else "") + re.escape(spelling) + (r"\b" if latin else ""))
    return CompetitorPattern(id, name, re.compile("|".join(pieces) or r"(?!)"))


@dataclass(frozen=True)
class Categorizer:
    lexicon: Lexicon
    model: NaiveBayes | None
    model_version: str
    competitors: tuple[CompetitorPattern, ...] = ()

    def competitors_in(self, text: str) -> tuple[int, ...]:
        normalized = normalize(text)
        return tuple(c.id for c in self.competitors if c.pattern.search(normalized))

    def categorize(self, text: str) -> Categorization:
        competitors = self.competitors_in(text)
        scores = rule_scores(text, self.lexicon)
        if competitors:
            scores["competitor"] = scores.get("competitor", 0.0) + COMPETITOR_WEIGHT
        total = sum(scores.values())
        rule_best = max(scores, key=lambda c: scores[c]) if scores else ""
        rule_share = scores[rule_best] / total if scores else 0.0
        if scores and rule_share >= RULE_DECIDES_AT and scores[rule_best] >= RULE_MIN_SCORE:
            confidence = min(0.99, rule_share * min(1.0, scores[rule_best] / 3))
            return Categorization(rule_best, round(confidence, 3), "rule", "", competitors)
        if self.model is not None and self.model.classes:
            _best, _probability, probabilities = self.model.predict(text)
            combined = {
                c: probabilities.get(c, 0.0) + RULE_BLEND * scores.get(c, 0.0) / (total or 1)
                for c in set(probabilities) | set(scores)
            }
            best = max(combined, key=lambda c: combined[c])
            confidence = combined[best] / (1 + (RULE_BLEND if scores else 0.0))
            if not scores and probabilities[best] < MODEL_ALONE_AT:
                return Categorization("other", round(confidence, 3), "none", "", competitors)
            return Categorization(
                best, round(confidence, 3), "model", self.model_version, competitors
            )
        if scores:
            return Categorization(rule_best, round(rule_share * 0.6, 3), "rule", "", competitors)
        return Categorization("other", 0.0, "none", "", competitors)


def build_categorizer(
    *,
    rules: list[tuple[str, str, float]],
    competitors: list[tuple[int, str, list[str]]],
    model: NaiveBayes | None,
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
