#!/usr/bin/env python
"""Time categorising one free-text answer, as the cancel flow does it.

    .venv/bin/python bench/categorize.py [--repeat 20]

Builds a categoriser with the default lexicon and a model (logistic regression,
the default) trained on two thirds of the shipped training answers
(tests/data/exit_answers.csv), then times each of the other third ``--repeat``
times and prints p50/p99 per path (decided by a rule, by the model, or neither),
the accuracy on that third per language, and how long training took. No database
needed. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import percentile  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    options = parser.parse_args()

    import django

    django.setup()
    from surveys.categorization.evaluation import (
        categorizer_trained_on,
        evaluate,
        load_examples,
        split,
    )

    examples = load_examples(ROOT / "tests" / "data" / "exit_answers.csv")
    train, test = split(examples)
    started = time.perf_counter()
    categorizer = categorizer_trained_on(train)
    trained_ms = (time.perf_counter() - started) * 1000
    vocabulary = getattr(categorizer.model, "vocabulary", 0)
    print(f"trained on {len(train)} answers in {trained_ms:.0f} ms ({vocabulary} n-grams)")

    timings: dict[str, list[float]] = {"rule": [], "model": [], "none": []}
    cpu_started = time.process_time()
    for _ in range(options.repeat):
        for example in test:
            started = time.perf_counter()
            result = categorizer.categorize(example.text)
            timings[result.source].append((time.perf_counter() - started) * 1000)
    everything = [t for values in timings.values() for t in values]
    cpu_ms = (time.process_time() - cpu_started) * 1000 / len(everything)
    print(f"CPU time {cpu_ms:.3f} ms a text (the wall times below include waiting for a core)")
    print(f"\n{'path':8} {'answers':>8} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    for path, values in [*timings.items(), ("all", everything)]:
        if values:
            print(
                f"{path:8} {len(values) // options.repeat:8d} {percentile(values, 0.5):8.3f} "
                f"{percentile(values, 0.99):8.3f} {statistics.fmean(values):8.3f}"
            )
    print()
    for locale, report in sorted(evaluate(categorizer, test).items()):
        print(
            f"dev third {locale:8} {report.accuracy:6.1%} of {report.total} "
            f"(macro-F1 {report.macro_f1():.3f})"
        )


if __name__ == "__main__":
    main()
