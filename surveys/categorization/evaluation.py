"""Measuring the categoriser, per locale: accuracy, macro-F1, the confusion
matrix, how well its confidence is calibrated (expected calibration error and
accuracy per confidence band) and how much it sends to review.

Two files (``tests/data``): ``exit_answers.csv`` is for training and tuning
(the "dev" numbers are cross-validated on it), ``exit_answers_heldout.csv`` is
only ever categorised, never trained or tuned on (nothing that
trains a model or tunes the lexicon or the pipeline opens it).
"""

from __future__ import annotations

import csv
import itertools
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from surveys.categorization.kinds import MODEL_KINDS, train_model
from surveys.categorization.pipeline import (
    Categorizer,
    Evidence,
    build_categorizer,
    decide,
)

DATA = Path(__file__).resolve().parents[2] / "tests" / "data"
TRAINING = DATA / "exit_answers.csv"
HELD_OUT = DATA / "exit_answers_heldout.csv"

BANDS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0001)


@dataclass(frozen=True)
class Example:
    text: str
    locale: str
    category: str


def load_examples(path: Path) -> list[Example]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            Example(row["text"], row["locale"], row["category"]) for row in csv.DictReader(handle)
        ]


def split(
    examples: Sequence[Example], *, every: int = 3, offset: int = 0
) -> tuple[list[Example], list[Example]]:
    """Stratified, deterministic: every ``every``-th example of each (locale,
    category) goes to the held-out part."""
    seen: Counter[tuple[str, str]] = Counter()
    train: list[Example] = []
    test: list[Example] = []
    for example in examples:
        key = (example.locale, example.category)
        (test if seen[key] % every == offset else train).append(example)
        seen[key] += 1
    return train, test


MODELS = MODEL_KINDS


def categorizer_trained_on(examples: Iterable[Example], *, kind: str = "logistic") -> Categorizer:
    """The default lexicon and a model of ``kind`` trained on ``examples`` the
    way a workspace's is ("none": rules only)."""
    training = [(e.text, e.category) for e in examples]
    model = train_model(training, kind=kind) if kind != "none" else None
    return build_categorizer(rules=[], competitors=[], model=model, model_version="eval")


@dataclass
class Report:
    total: int = 0
    correct: int = 0
    reviewed: int = 0
    confusion: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    # (confidence, correct) of each answer placed in a real category (not "other")
    placed: list[tuple[float, bool]] = field(default_factory=list)
    # answers whose expected category is "other": how many went to review
    unplaceable: int = 0
    unplaceable_reviewed: int = 0

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def review_share(self) -> float:
        return self.reviewed / self.total if self.total else 0.0

    @property
    def placeable_review_share(self) -> float:
        """Share sent to review among answers a person would place in a category."""
        placeable = self.total - self.unplaceable
        return (self.reviewed - self.unplaceable_reviewed) / placeable if placeable else 0.0

    def add(
        self, expected: str, predicted: str, confidence: float = 1.0, review: bool = False
    ) -> None:
        self.total += 1
        self.correct += expected == predicted
        self.reviewed += review
        self.confusion[expected][predicted] += 1
        if predicted != "other":
            self.placed.append((confidence, expected == predicted))
        if expected == "other":
            self.unplaceable += 1
            self.unplaceable_reviewed += review

    def merge(self, other: Report) -> None:
        self.total += other.total
        self.correct += other.correct
        self.reviewed += other.reviewed
        for expected, row in other.confusion.items():
            self.confusion[expected].update(row)
        self.placed.extend(other.placed)
        self.unplaceable += other.unplaceable
        self.unplaceable_reviewed += other.unplaceable_reviewed

    def macro_f1(self) -> float:
        labels = set(self.confusion) | {p for row in self.confusion.values() for p in row}
        scores = []
        for label in labels:
            tp = self.confusion[label][label]
            fp = sum(row[label] for e, row in self.confusion.items() if e != label)
            fn = sum(n for p, n in self.confusion[label].items() if p != label)
            precision = tp / (tp + fp) if tp + fp else 0.0
            recall = tp / (tp + fn) if tp + fn else 0.0
            scores.append(
                2 * precision * recall / (precision + recall) if precision + recall else 0
            )
        return sum(scores) / len(scores) if scores else 0.0

    def bands(self) -> list[tuple[float, float, int, float]]:
        """(low, high, answers, accuracy) per confidence band, of answers placed
        in a real category."""
        rows = []
        for low, high in itertools.pairwise(BANDS):
            inside = [ok for c, ok in self.placed if low <= c < high]
            rows.append(
                (low, min(high, 1.0), len(inside), sum(inside) / len(inside) if inside else 0)
            )
        return rows

    def ece(self, bins: int = 10) -> float:
        """Expected calibration error of the confidence of answers placed in a
        real category: the gap between confidence and accuracy, per tenth,
        weighted by how many answers fall in it."""
        if not self.placed:
            return 0.0
        buckets: dict[int, list[tuple[float, bool]]] = defaultdict(list)
        for confidence, ok in self.placed:
            buckets[min(bins - 1, int(confidence * bins))].append((confidence, ok))
        gap = 0.0
        for items in buckets.values():
            mean_confidence = sum(c for c, _ok in items) / len(items)
            accuracy = sum(ok for _c, ok in items) / len(items)
            gap += abs(mean_confidence - accuracy) * len(items)
        return gap / len(self.placed)

    def matrix(self) -> str:
        labels = sorted(set(self.confusion) | {p for r in self.confusion.values() for p in r})
        short = {label: label[:6] for label in labels}
        lines = ["expected \\ got  " + " ".join(f"{short[x]:>6}" for x in labels)]
        for expected in labels:
            row = self.confusion.get(expected, Counter())
            lines.append(f"{expected[:15]:15} " + " ".join(f"{row[x]:6d}" for x in labels))
        return "\n".join(lines)


def evaluate(categorizer: Categorizer, examples: Iterable[Example]) -> dict[str, Report]:
    """Reports per locale (and "all")."""
    reports: dict[str, Report] = defaultdict(Report)
    for example in examples:
        found = categorizer.categorize(example.text)
        for key in (example.locale, "all"):
            reports[key].add(example.category, found.category, found.confidence, found.needs_review)
    return dict(reports)


@dataclass(frozen=True)
class Judged:
    """One cross-validated text and what the categoriser weighed for it."""

    example: Example
    evidence: Evidence
    with_model: bool


def cross_validated_evidence(
    examples: Sequence[Example],
    *,
    folds: int = 5,
    kind: str = "logistic",
    progress: Callable[[int], None] | None = None,
) -> list[Judged]:
    """k-fold: each fold held out once, the model trained on the others; the
    evidence for each held-out text, to score or tune the mixing on."""
    judged: list[Judged] = []
    for fold in range(folds):
        train, test = split(examples, every=folds, offset=fold)
        categorizer = categorizer_trained_on(train, kind=kind)
        for example in test:
            competitors = categorizer.competitors_in(example.text)
            judged.append(
                Judged(example, categorizer.evidence(example.text, competitors), kind != "none")
            )
        if progress:
            progress(1)
    return judged


def score(judged: Iterable[Judged], **settings: float | bool | None) -> dict[str, Report]:
    """Reports per locale (and "all") for the judged texts under ``settings``
    (``decide``'s keyword arguments)."""
    reports: dict[str, Report] = defaultdict(Report)
    for item in judged:
        category, confidence, _source = decide(item.evidence, item.with_model, **settings)  # type: ignore[arg-type]
        threshold = settings.get("review_below")
        review = category == "other" or confidence < (
            _review_below() if threshold is None else float(threshold)
        )
        for key in (item.example.locale, "all"):
            reports[key].add(item.example.category, category, confidence, bool(review))
    return dict(reports)


def _review_below() -> float:
    from surveys.categorization.pipeline import REVIEW_BELOW

    return REVIEW_BELOW


def cross_validate(
    examples: Sequence[Example],
    *,
    folds: int = 5,
    kind: str = "logistic",
    progress: Callable[[int], None] | None = None,
) -> dict[str, Report]:
    return score(cross_validated_evidence(examples, folds=folds, kind=kind, progress=progress))


def fit_calibration(
    pairs: Sequence[tuple[float, bool]], knots: int = 8
) -> list[tuple[float, float]]:
    """Isotonic regression (pool adjacent violators) of correctness on the raw
    share, reduced to ``knots`` points: raw share -> how often it was right."""
    by_raw: dict[float, list[float]] = {}
    for raw, ok in pairs:
        row = by_raw.setdefault(raw, [0.0, 0.0, 0.0])
        row[0] += raw
        row[1] += ok
        row[2] += 1
    blocks: list[list[float]] = []  # [sum of raw, sum of correct, count]
    for raw in sorted(by_raw):
        blocks.append(by_raw[raw])
        while len(blocks) > 1 and blocks[-2][1] / blocks[-2][2] >= blocks[-1][1] / blocks[-1][2]:
            last = blocks.pop()
            blocks[-1] = [a + b for a, b in zip(blocks[-1], last, strict=True)]
    points = [(b[0] / b[2], b[1] / b[2]) for b in blocks]
    if len(points) > knots:
        step = (len(points) - 1) / (knots - 1)
        points = [points[round(i * step)] for i in range(knots)]
    return [(round(x, 3), round(y, 3)) for x, y in points]
