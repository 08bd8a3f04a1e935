"""A multinomial naive Bayes classifier over character n-grams.

Small, fast to train on a workspace's few hundred labelled answers, fast to run
(well under a millisecond per answer), and it needs no word segmentation for
Chinese. It is stored as JSON (counts), so a model is a database row with a
version, not a file.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from surveys.categorization.text import char_ngrams

ALPHA = 0.1  # additive smoothing


@dataclass
class NaiveBayes:
    class_docs: dict[str, int] = field(default_factory=dict)
    class_grams: dict[str, int] = field(default_factory=dict)
    # n-gram -> {category: count}
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def classes(self) -> list[str]:
        return sorted(self.class_docs)

    @property
    def vocabulary(self) -> int:
        return len(self.counts)

    @classmethod
    def train(cls, examples: Iterable[tuple[str, str]]) -> NaiveBayes:
        model = cls()
        for text, category in examples:
            grams = Counter(char_ngrams(text))
            model.class_docs[category] = model.class_docs.get(category, 0) + 1
            model.class_grams[category] = model.class_grams.get(category, 0) + sum(grams.values())
            for gram, count in grams.items():
                bucket = model.counts.setdefault(gram, {})
                bucket[category] = bucket.get(category, 0) + count
        return model

    def predict(self, text: str) -> tuple[str, float, dict[str, float]]:
        """The most likely category, its probability, and every category's."""
        classes = self.classes
        if not classes:
            return "other", 0.0, {}
        total_docs = sum(self.class_docs.values())
        vocabulary = max(1, self.vocabulary)
        scores = {c: math.log(self.class_docs[c] / total_docs) for c in classes}
        denominators = {c: math.log(self.class_grams[c] + ALPHA * vocabulary) for c in classes}
        for gram in char_ngrams(text):
            bucket = self.counts.get(gram)
            if bucket is None:
                continue  # unseen everywhere: says nothing
            for c in classes:
                scores[c] += math.log(bucket.get(c, 0) + ALPHA) - denominators[c]
        top = max(scores.values())
        exp = {c: math.exp(s - top) for c, s in scores.items()}
        total = sum(exp.values())
        probabilities = {c: v / total for c, v in exp.items()}
        best = max(probabilities, key=lambda c: probabilities[c])
        return best, probabilities[best], probabilities

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "naive_bayes_char_1_4",
            "class_docs": self.class_docs,
            "class_grams": self.class_grams,
            "counts": self.counts,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NaiveBayes:
        return cls(
            class_docs=dict(data["class_docs"]),
            class_grams=dict(data["class_grams"]),
            counts=data["counts"],
        )
