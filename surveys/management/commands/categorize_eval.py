"""How well free text is categorised, per locale: accuracy, macro-F1, expected
calibration error, accuracy per confidence band, the share sent to review, and
the confusion matrix.

    categorize_eval --dataset            # cross-validated on the training file (dev)
    categorize_eval --held-out           # trained on the training file, scored on the held-out one
    categorize_eval --workspace SLUG     # cross-validated on a workspace's labelled answers
    categorize_eval --tune               # pick the mixing constants on the training file (dev)
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from surveys.categorization import pipeline
from surveys.categorization.evaluation import (
    HELD_OUT,
    MODELS,
    TRAINING,
    Example,
    Judged,
    Report,
    categorizer_trained_on,
    cross_validated_evidence,
    evaluate,
    fit_calibration,
    load_examples,
    score,
)
from surveys.categorization.pipeline import decide
from surveys.selectors import labelled_examples
from workspaces.models import Workspace

SHIPPED = TRAINING


class Command(BaseCommand):
    help = (
        "Measure the categoriser (default lexicon + a model) per locale: cross-validated on a "
        "workspace's labelled answers or a CSV (locale,category,text), or trained on the "
        "shipped training file and scored on the held-out file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--workspace", help="Workspace slug: use its labelled answers.")
        source.add_argument(
            "--dataset",
            nargs="?",
            const=str(SHIPPED),
            help=f"A CSV file (default: the shipped training file, {SHIPPED.name}).",
        )
        source.add_argument(
            "--held-out",
            action="store_true",
            help=f"Train on {TRAINING.name}, score {HELD_OUT.name} (never trained or tuned on).",
        )
        source.add_argument(
            "--tune",
            action="store_true",
            help=f"Pick the mixing constants by cross-validation on {TRAINING.name} only.",
        )
        parser.add_argument("--folds", type=int, default=5)
        parser.add_argument(
            "--model", choices=[*MODELS, "none"], default="logistic", help="none: rules only."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["folds"] < 2:
            raise CommandError("--folds must be at least 2.")
        if options["tune"]:
            self._tune(options)
            return
        if options["held_out"]:
            self._held_out(options["model"])
            return
        examples = self._examples(options)
        if len(examples) < options["folds"] * 2:
            raise CommandError(
                f"Only {len(examples)} labelled answers: too few to cross-validate "
                f"with {options['folds']} folds."
            )
        judged = self._judge(examples, options)
        self.stdout.write(
            f"{len(examples)} labelled answers, {options['folds']}-fold cross-validation, "
            f"model: {options['model']}\n"
        )
        self._print(score(judged))

    def _judge(self, examples: list[Example], options: dict[str, Any]) -> list[Judged]:
        bar = tqdm(total=options["folds"], desc="folds", file=sys.stderr, disable=None)
        judged = cross_validated_evidence(
            examples, folds=options["folds"], kind=options["model"], progress=bar.update
        )
        bar.close()
        return judged

    def _held_out(self, kind: str) -> None:
        train = load_examples(TRAINING)
        test = load_examples(HELD_OUT)
        started = time.perf_counter()
        categorizer = categorizer_trained_on(train, kind=kind)
        trained = time.perf_counter() - started
        started = time.perf_counter()
        reports = evaluate(categorizer, test)
        per_text = (time.perf_counter() - started) / len(test) * 1000
        self.stdout.write(
            f"Trained on {len(train)} answers ({TRAINING.name}, {trained:.1f} s, model: {kind}); "
            f"scored {len(test)} held-out answers ({HELD_OUT.name}), {per_text:.2f} ms a text\n"
        )
        self._print(reports)

    def _print(self, reports: dict[str, Report]) -> None:
        self.stdout.write(
            f"{'locale':8} {'answers':>7} {'accuracy':>8} {'macro-F1':>8} {'ECE':>6} "
            f"{'review':>7} {'review*':>7} {'nonsense reviewed':>17}"
        )
        for locale in sorted(reports, key=lambda k: (k == "all", k)):
            r = reports[locale]
            unplaceable = f"{r.unplaceable_reviewed}/{r.unplaceable}"
            self.stdout.write(
                f"{locale:8} {r.total:7d} {r.accuracy:8.1%} {r.macro_f1():8.3f} {r.ece():6.3f} "
                f"{r.review_share:7.1%} {r.placeable_review_share:7.1%} {unplaceable:>17}"
            )
        self.stdout.write(
            "review: share of all answers sent to review; review*: among answers a person "
            "would place in a category (not 'other'). ECE over answers placed in a category."
        )
        for locale in sorted(k for k in reports if k != "all"):
            self.stdout.write(f"\nAccuracy per confidence band, {locale} (answers placed):")
            for low, high, count, accuracy in reports[locale].bands():
                if count:
                    self.stdout.write(f"  {low:.1f}-{high:.1f} {count:5d} answers {accuracy:7.1%}")
            self.stdout.write(f"Confusion matrix, {locale} (rows: expected):")
            self.stdout.write(reports[locale].matrix())

    def _tune(self, options: dict[str, Any]) -> None:
        """Cross-validate on the training file once, then try the mixing
        constants on the stored evidence: the best accuracy wins; then fit the
        calibration maps and the review threshold. Never reads the held-out file."""
        examples = load_examples(TRAINING)
        found: dict[str, Any] = {}
        for kind in ("none", options["model"]):
            judged = self._judge(examples, {**options, "model": kind})
            best: tuple[float, ...] = ()
            for scale, trust, unknown in itertools.product(
                [1, 1.5, 2, 3], [50, 150, 400], [0.15, 0.25, 0.35, 0.5]
            ):
                if kind == "none" and trust != 150:
                    continue
                settings = {"rule_scale": scale, "trust_texts": trust, "unknown": unknown}
                reports = score(judged, **settings, review_below=0.0, calibrate=False)
                key = (reports["all"].accuracy, -reports["all"].review_share)
                if not best or key > best[:2]:
                    best = (*key, scale, trust, unknown)
            if kind == "none":
                found["rules_only"] = best
                settings = {"rule_scale": best[2], "unknown": best[4]}
            else:
                found["with_model"] = best
                settings = {"rule_scale": best[2], "trust_texts": best[3], "unknown": best[4]}
            pairs: dict[bool, list[tuple[float, bool]]] = {True: [], False: []}
            for item in judged:
                category, raw, _source = decide(
                    item.evidence, kind != "none", **settings, review_below=0.0, calibrate=False
                )
                if category != "other":
                    ruled = bool(item.evidence.rule_scores) or kind == "none"
                    pairs[ruled].append((raw, category == item.example.category))
            found[f"calibration_{kind}"] = fit_calibration(pairs[True])
            if kind != "none":
                found["calibration_alone"] = fit_calibration(pairs[False])
            found[f"judged_{kind}"] = judged
        self.stdout.write(
            f"rules only (accuracy, -review, scale, -, unknown): {found['rules_only']}"
        )
        self.stdout.write(
            f"with model (accuracy, -review, scale, trust, unknown): {found['with_model']}"
        )
        self.stdout.write(f"CALIBRATION_RULES = {tuple(found['calibration_none'])}")
        model_knots = tuple(found["calibration_" + options["model"]])
        self.stdout.write(f"CALIBRATION_MODEL = {model_knots}")
        alone_knots = tuple(found["calibration_alone"])
        self.stdout.write(f"CALIBRATION_MODEL_ALONE = {alone_knots}")
        # The review threshold, with those maps in place: the best accuracy per threshold.
        saved = (
            pipeline.CALIBRATION_RULES,
            pipeline.CALIBRATION_MODEL,
            pipeline.CALIBRATION_MODEL_ALONE,
        )
        pipeline.CALIBRATION_RULES = tuple(found["calibration_none"])
        pipeline.CALIBRATION_MODEL = model_knots
        pipeline.CALIBRATION_MODEL_ALONE = alone_knots
        try:
            _a, _r, scale, trust, unknown = found["with_model"]
            for threshold in (0.0, 0.3, 0.4, 0.5, 0.6, 0.7):
                reports = score(
                    found["judged_" + options["model"]],
                    rule_scale=scale,
                    trust_texts=trust,
                    unknown=unknown,
                    review_below=threshold,
                )
                r = reports["all"]
                self.stdout.write(
                    f"review below {threshold:.1f}: accuracy {r.accuracy:.1%}, review "
                    f"{r.review_share:.1%} (placeable {r.placeable_review_share:.1%}), "
                    f"ECE {r.ece():.3f}"
                )
        finally:
            (
                pipeline.CALIBRATION_RULES,
                pipeline.CALIBRATION_MODEL,
                pipeline.CALIBRATION_MODEL_ALONE,
            ) = saved

    def _examples(self, options: dict[str, Any]) -> list[Example]:
        if options["dataset"]:
            path = Path(options["dataset"])
            if not path.is_file():
                raise CommandError(f"No such file: {path}")
            try:
                return load_examples(path)
            except (KeyError, ValueError) as exc:
                raise CommandError(f"{path} is not a locale,category,text CSV: {exc}") from None
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace with slug {options['workspace']!r}.")
        return [
            Example(text, locale or workspace.default_locale, category)
            for text, locale, category in labelled_examples(workspace_id=workspace.pk).values_list(
                "text", "locale", "category_id"
            )
        ]
