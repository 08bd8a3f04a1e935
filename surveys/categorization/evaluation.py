"""Measuring the categoriser: hold-out and k-fold accuracy, macro-F1 and the
confusion matrix, per locale."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from surveys.categorization.classifier import NaiveBayes
from surveys.categorization.pipeline import Categorizer, build_categorizer


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


def categorizer_trained_on(examples: Iterable[Example]) -> Categorizer:
    model = NaiveBayes.train((e.text, e.category) for e in examples)
    return build_categorizer(rules=[], competitors=[], model=model, model_version="eval")


@dataclass
class Report:
    total: int = 0
    correct: int = 0
    confusion: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def add(self, expected: str, predicted: str) -> None:
        self.total += 1
        self.correct += expected == predicted
        self.confusion[expected][predicted] += 1

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
        predicted = categorizer.categorize(example.text).category
        reports[example.locale].add(example.category, predicted)
        reports["all"].add(example.category, predicted)
    return dict(reports)


def cross_validate(
    examples: Sequence[Example],
    *,
    folds: int = 5,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Report]:
    """k-fold: each fold held out once, the model trained on the others."""
    merged: dict[str, Report] = defaultdict(Report)
    for fold in range(folds):
        train, test = split(examples, every=folds, offset=fold)
        for locale, report in evaluate(categorizer_trained_on(train), test).items():
            for expected, row in report.confusion.items():
                for predicted, count in row.items():
                    for _ in range(count):
                        merged[locale].add(expected, predicted)
        if progress:
            progress(1)
    return dict(merged)
