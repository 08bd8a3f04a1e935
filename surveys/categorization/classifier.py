"""The models a workspace can learn from its labelled answers.

``LogisticModel`` (the default): multinomial logistic regression over character
n-grams, trained in pure Python (no numpy), with a temperature fitted on a
fifth of the texts it was not trained on so that its probabilities mean what
they say. It also knows how much it has seen: how many distinct texts it learnt
from, and which pieces of text (``content_grams``) it met in at least two of
them, so the pipeline can trust it less on text unlike anything it learnt.

``NaiveBayes``: the earlier model, kept to read models stored before and as a
candidate in the comparison (``bench/categorize_models.py``).

Both are stored as JSON, so a model is a database row with a version, not a file.
``kinds`` picks and loads them (and the optional ``embedding.EmbeddingModel``).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from surveys.categorization.text import char_ngrams, content_grams, normalize

ALPHA = 0.1  # naive Bayes additive smoothing


class Model(Protocol):
    @property
    def classes(self) -> list[str]: ...

    @property
    def distinct_texts(self) -> int: ...

    def predict(self, text: str) -> tuple[str, float, dict[str, float]]: ...

    def coverage(self, text: str) -> float: ...

    def to_json(self) -> dict[str, Any]: ...


def distinct_examples(examples: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """One example per distinct text (normalised), with its most frequent label:
    a sentence repeated a thousand times teaches what it teaches once."""
    labels: dict[str, Counter[str]] = {}
    first: dict[str, str] = {}
    for text, category in examples:
        key = normalize(text)
        if not key:
            continue
        labels.setdefault(key, Counter())[category] += 1
        first.setdefault(key, text)
    return [(first[key], counts.most_common(1)[0][0]) for key, counts in labels.items()]


def _spread(examples: list[tuple[str, str]], limit: int) -> list[tuple[str, str]]:
    """At most ``limit`` examples, evenly spread over the list (deterministic)."""
    if len(examples) <= limit:
        return examples
    step = len(examples) / limit
    return [examples[int(i * step)] for i in range(limit)]


def _seen_grams(texts: Iterable[str], *, min_texts: int) -> list[str]:
    frequency: Counter[str] = Counter()
    for text in texts:
        frequency.update(set(content_grams(normalize(text))))
    return sorted(g for g, n in frequency.items() if n >= min_texts)


def _coverage(text: str, seen: frozenset[str]) -> float:
    grams = content_grams(normalize(text))
    if not grams:
        return 0.0
    return sum(g in seen for g in grams) / len(grams)


def _features(text: str) -> dict[str, float]:
    """Character 1-4-grams, counts scaled to unit length (long answers don't
    shout louder than short ones)."""
    counts = Counter(char_ngrams(text))
    norm = math.sqrt(sum(v * v for v in counts.values())) or 1.0
    return {g: v / norm for g, v in counts.items()}


def _softmax(scores: Sequence[float]) -> list[float]:
    top = max(scores)
    exp = [math.exp(s - top) for s in scores]
    total = sum(exp)
    return [v / total for v in exp]


def calibrated_prediction(
    labels: Sequence[str], raw: Sequence[float], temperature: float
) -> tuple[str, float, dict[str, float]]:
    """A model's raw class probabilities, softened by its fitted ``temperature``:
    the most likely category, its probability, and every category's."""
    calibrated = _softmax([math.log(max(p, 1e-12)) / temperature for p in raw])
    probabilities = dict(zip(labels, calibrated, strict=True))
    best = max(probabilities, key=lambda c: probabilities[c])
    return best, probabilities[best], probabilities


def _stratified_fifth(examples: Sequence[tuple[str, str]]) -> tuple[list[int], list[int]]:
    seen: Counter[str] = Counter()
    fit: list[int] = []
    calibrate: list[int] = []
    for index, (_text, category) in enumerate(examples):
        (calibrate if seen[category] % 5 == 4 else fit).append(index)
        seen[category] += 1
    return fit, calibrate


def _fit_temperature(
    probabilities: list[list[float]], truth: list[int], grid: Iterable[float]
) -> float:
    """The temperature with the lowest log loss on texts the model did not see."""
    best, best_loss = 1.0, math.inf
    for temperature in grid:
        loss = 0.0
        for row, answer in zip(probabilities, truth, strict=True):
            logs = [math.log(max(p, 1e-12)) / temperature for p in row]
            loss -= math.log(max(_softmax(logs)[answer], 1e-12))
        if loss < best_loss:
            best, best_loss = temperature, loss
    return best


@dataclass
class LogisticModel:
    labels: list[str] = field(default_factory=list)
    weights: dict[str, list[float]] = field(default_factory=dict)
    bias: list[float] = field(default_factory=list)
    temperature: float = 1.0
    distinct: int = 0
    seen: frozenset[str] = frozenset()

    EPOCHS = 12
    RATE = 0.6
    L2 = 1e-4
    # Training time grows with the texts: past this many distinct ones, an even
    # spread of them is learnt from (training stays under a minute in a worker).
    MAX_TEXTS = 3000

    @property
    def classes(self) -> list[str]:
        return list(self.labels)

    @property
    def distinct_texts(self) -> int:
        return self.distinct

    @property
    def vocabulary(self) -> int:
        return len(self.weights)

    @classmethod
    def _fit(
        cls, examples: Sequence[tuple[str, str]], labels: list[str], *, seed: int = 17
    ) -> LogisticModel:
        index = {label: i for i, label in enumerate(labels)}
        rows = [(_features(text), index[category]) for text, category in examples]
        k = len(labels)
        weights: dict[str, list[float]] = {}
        # AdaGrad: each weight's step shrinks with the gradients it has had.
        squares: dict[str, list[float]] = {}
        bias = [0.0] * k
        bias_squares = [1e-8] * k
        order = list(range(len(rows)))
        rng = random.Random(seed)
        for _epoch in range(cls.EPOCHS):
            rng.shuffle(order)
            for i in order:
                features, answer = rows[i]
                scores = list(bias)
                for gram, value in features.items():
                    w = weights.get(gram)
                    if w is not None:
                        for c in range(k):
                            scores[c] += w[c] * value
                probabilities = _softmax(scores)
                gradient = [p - (c == answer) for c, p in enumerate(probabilities)]
                for c in range(k):
                    bias_squares[c] += gradient[c] ** 2
                    bias[c] -= cls.RATE * gradient[c] / math.sqrt(bias_squares[c])
                # Classes the text already scores right for barely move: skip them
                # (training several times faster, the same accuracy).
                moving = [c for c in range(k) if abs(gradient[c]) > 1e-3]
                if not moving:
                    continue
                for gram, value in features.items():
                    w = weights.setdefault(gram, [0.0] * k)
                    s = squares.setdefault(gram, [1e-8] * k)
                    for c in moving:
                        g = gradient[c] * value + cls.L2 * w[c]
                        s[c] += g * g
                        w[c] -= cls.RATE * g / math.sqrt(s[c])
        return cls(labels=labels, weights=weights, bias=bias)

    @classmethod
    def train(
        cls, examples: Iterable[tuple[str, str]], *, extra: Iterable[tuple[str, str]] = ()
    ) -> LogisticModel:
        """Learn from ``examples``; ``extra`` examples (the built-in non-answers)
        are learnt too but not counted as the workspace's distinct texts."""
        own = distinct_examples(examples)
        distinct = distinct_examples([*_spread(own, cls.MAX_TEXTS), *extra])
        labels = sorted({category for _text, category in distinct})
        temperature = 1.0
        fit, calibrate = _stratified_fifth(distinct)
        if len(labels) >= 2 and len(calibrate) >= 20:
            trial = cls._fit([distinct[i] for i in fit], labels)
            probabilities = [trial._probabilities(distinct[i][0]) for i in calibrate]
            truth = [labels.index(distinct[i][1]) for i in calibrate]
            temperature = _fit_temperature(
                probabilities, truth, [0.5 + 0.1 * step for step in range(36)]
            )
        model = cls._fit(distinct, labels) if labels else cls()
        model.temperature = temperature
        model.distinct = len(own)
        texts = [text for text, _category in distinct]
        model.seen = frozenset(_seen_grams(texts, min_texts=2 if len(own) >= 200 else 1))
        model._prune()
        return model

    def _prune(self) -> None:
        """Drop weights too small to matter (smaller rows in the database)."""
        self.weights = {
            gram: [round(v, 4) for v in w]
            for gram, w in self.weights.items()
            if max(abs(v) for v in w) >= 0.002
        }

    def _probabilities(self, text: str) -> list[float]:
        scores = list(self.bias)
        k = len(scores)
        for gram, value in _features(text).items():
            w = self.weights.get(gram)
            if w is not None:
                for c in range(k):
                    scores[c] += w[c] * value
        return _softmax(scores)

    def predict(self, text: str) -> tuple[str, float, dict[str, float]]:
        """The most likely category, its probability, and every category's."""
        if not self.labels:
            return "other", 0.0, {}
        return calibrated_prediction(self.labels, self._probabilities(text), self.temperature)

    def coverage(self, text: str) -> float:
        """Share of the text's pieces met in the texts it learnt from."""
        return _coverage(text, self.seen)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "logistic_char_1_4",
            "labels": self.labels,
            "weights": self.weights,
            "bias": [round(b, 4) for b in self.bias],
            "temperature": self.temperature,
            "distinct": self.distinct,
            "seen": sorted(self.seen),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LogisticModel:
        return cls(
            labels=list(data["labels"]),
            weights=data["weights"],
            bias=list(data["bias"]),
            temperature=float(data["temperature"]),
            distinct=int(data["distinct"]),
            seen=frozenset(data["seen"]),
        )


@dataclass
class NaiveBayes:
    class_docs: dict[str, int] = field(default_factory=dict)
    class_grams: dict[str, int] = field(default_factory=dict)
    # n-gram -> {category: count}
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    # Filled for models trained since distinct texts and coverage were counted;
    # 0 / empty for a model stored before (then it is trusted like a small one).
    distinct: int = 0
    seen: frozenset[str] = frozenset()

    @property
    def classes(self) -> list[str]:
        return sorted(self.class_docs)

    @property
    def distinct_texts(self) -> int:
        return self.distinct

    @property
    def vocabulary(self) -> int:
        return len(self.counts)

    @classmethod
    def train(
        cls,
        examples: Iterable[tuple[str, str]],
        *,
        extra: Iterable[tuple[str, str]] = (),
        dedupe: bool = True,
    ) -> NaiveBayes:
        examples = distinct_examples(examples) if dedupe else list(examples)
        own = len(distinct_examples(examples))
        examples = [*examples, *extra]
        model = cls()
        for text, category in examples:
            grams = Counter(char_ngrams(text))
            model.class_docs[category] = model.class_docs.get(category, 0) + 1
            model.class_grams[category] = model.class_grams.get(category, 0) + sum(grams.values())
            for gram, count in grams.items():
                bucket = model.counts.setdefault(gram, {})
                bucket[category] = bucket.get(category, 0) + count
        model.distinct = own
        texts = [text for text, _category in examples]
        model.seen = frozenset(_seen_grams(texts, min_texts=2 if own >= 200 else 1))
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

    def coverage(self, text: str) -> float:
        return _coverage(text, self.seen)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "naive_bayes_char_1_4",
            "class_docs": self.class_docs,
            "class_grams": self.class_grams,
            "counts": self.counts,
            "distinct": self.distinct,
            "seen": sorted(self.seen),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NaiveBayes:
        return cls(
            class_docs=dict(data["class_docs"]),
            class_grams=dict(data["class_grams"]),
            counts=data["counts"],
            distinct=int(data.get("distinct", 0)),
            seen=frozenset(data.get("seen", ())),
        )
