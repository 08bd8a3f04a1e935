"""How well free text is categorised: cross-validated accuracy and macro-F1 per
locale, with a confusion matrix."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from surveys.categorization.evaluation import Example, cross_validate, load_examples
from surveys.selectors import labelled_examples
from workspaces.models import Workspace

SHIPPED = Path(__file__).resolve().parents[3] / "tests" / "data" / "exit_answers.csv"


class Command(BaseCommand):
    help = (
        "Cross-validate the categoriser (default lexicon + a model trained on the rest) "
        "on a workspace's labelled answers, or on a CSV (locale,category,text)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--workspace", help="Workspace slug: use its labelled answers.")
        source.add_argument(
            "--dataset",
            nargs="?",
            const=str(SHIPPED),
            help=f"A CSV file (default: the shipped set, {SHIPPED.name}).",
        )
        parser.add_argument("--folds", type=int, default=5)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["folds"] < 2:
            raise CommandError("--folds must be at least 2.")
        examples = self._examples(options)
        if len(examples) < options["folds"] * 2:
            raise CommandError(
                f"Only {len(examples)} labelled answers: too few to cross-validate "
                f"with {options['folds']} folds."
            )
        bar = tqdm(total=options["folds"], desc="folds", file=sys.stderr, disable=None)
        reports = cross_validate(examples, folds=options["folds"], progress=bar.update)
        bar.close()
        self.stdout.write(
            f"{len(examples)} labelled answers, {options['folds']}-fold cross-validation\n"
        )
        self.stdout.write(f"{'locale':10} {'answers':>8} {'accuracy':>9} {'macro-F1':>9}")
        for locale in sorted(reports, key=lambda k: (k == "all", k)):
            report = reports[locale]
            self.stdout.write(
                f"{locale:10} {report.total:8d} {report.accuracy:9.1%} {report.macro_f1():9.3f}"
            )
        for locale in sorted(k for k in reports if k != "all"):
            self.stdout.write(f"\nConfusion matrix, {locale} (rows: expected):")
            self.stdout.write(reports[locale].matrix())

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
