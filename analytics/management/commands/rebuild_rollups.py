"""Recount the rollups from the raw sessions, report any difference, correct it."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.models import GRAIN_KEEPS, RollupGrain
from analytics.services import rollups_compact, rollups_rebuild
from workspaces.models import Workspace

SHOW = 20


class Command(BaseCommand):
    help = (
        "Recount every workspace's rollups from its raw sessions and print the differences "
        "found. Differences are corrected unless --check is given (then the exit code is 1 "
        "when there are any)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", help="Only this workspace (slug).")
        parser.add_argument(
            "--check", action="store_true", help="Report differences without correcting them."
        )
        parser.add_argument(
            "--compact",
            action="store_true",
            help="Afterwards, fold the shards of settled days into one row each.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        workspaces = Workspace.objects.order_by("pk")
        if options["workspace"]:
            workspaces = workspaces.filter(slug=options["workspace"])
            if not workspaces.exists():
                raise CommandError(f"No workspace with the slug {options['workspace']!r}.")
        check = options["check"]
        found_any = False
        for workspace in workspaces:
            report = rollups_rebuild(workspace=workspace, apply=not check)
            self.stdout.write(
                f"{workspace.slug}: {report.sessions_counted} sessions, "
                f"{report.keys_checked} rollup keys checked, "
                f"{len(report.differences)} difference(s)"
                + ("" if report.ok or check else " corrected")
            )
            found_any = found_any or not report.ok
            for key, want, have in report.differences[:SHOW]:
                period, grain, day, survey, plan, locale, reason, category, offer, outcome = key
                shown = {"survey_id": f"survey={survey}", "plan": f"plan={plan or '-'}"}
                shown["locale"] = f"locale={locale}"
                scope = " ".join(shown[d] for d in GRAIN_KEEPS[grain])
                if grain != RollupGrain.DETAIL:
                    scope = f"{scope} (the rest summed)".lstrip()
                self.stdout.write(
                    f"  {period} of {day} {scope} "
                    f"reason={reason or '-'} category={category or '-'} offer={offer or '-'} "
                    f"outcome={outcome or 'open'}: sessions {want[0]} counted, {have[0]} in "
                    f"rollups; MRR {want[1]} vs {have[1]}; seconds {want[2]} vs {have[2]}"
                )
            if len(report.differences) > SHOW:
                self.stdout.write(f"  … and {len(report.differences) - SHOW} more")
        if options["compact"] and not check:
            removed = rollups_compact()
            self.stdout.write(f"Compacted: {removed} shard rows folded or removed.")
        if check and found_any:
            raise SystemExit(1)
