"""Send (or, with --dry-run, print) a workspace's weekly digest."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.digest import (
    digest_message,
    digest_recipients,
    digest_send,
    digest_unsent,
    week_of,
)
from analytics.selectors.filters import workspace_today
from workspaces.models import Workspace


class Command(BaseCommand):
    help = (
        "Send a workspace's weekly digest (once per week: a digest already sent or queued is "
        "not sent again; a channel that failed is retried by the deliveries), or print it "
        "with --dry-run. The week defaults to the last complete one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", required=True, help="The workspace's slug.")
        parser.add_argument(
            "--week", help="Any day of the week, e.g. 2026-11-16 (the Monday it starts)."
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print the email (text part) instead of sending it; records nothing.",
        )
        parser.add_argument(
            "--locale",
            choices=[code for code, _name in settings.LANGUAGES],
            help="With --dry-run: print it in this language only.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace with the slug {options['workspace']!r}.")
        if options["week"]:
            try:
                week = week_of(date.fromisoformat(options["week"]))
            except ValueError:
                raise CommandError(
                    f"--week must be a date like 2026-11-16, not {options['week']!r}."
                ) from None
        else:
            week = week_of(workspace_today(workspace)) - timedelta(days=7)

        if options["dry_run"]:
            audiences = digest_recipients(workspace=workspace)
            if options["locale"]:
                audiences = [
                    (options["locale"], [a for locale, addresses in audiences for a in addresses])
                ]
            elif not audiences:
                audiences = [(workspace.default_locale, [])]
            for locale, addresses in audiences:
                message = digest_message(
                    workspace=workspace, week_start=week, locale=locale, to=addresses
                )
                self.stdout.write(f"Subject: {message.subject}")
                self.stdout.write(f"To: {', '.join(addresses) or '(nobody receives it yet)'}")
                self.stdout.write(f"Language: {locale}\n\n{message.body}")
            return

        run = digest_send(workspace=workspace, week_start=week)
        if run is None:
            raise CommandError(
                "Nobody receives the digest: tick 'receives digest' on a team with an "
                "enabled email channel (admin → Teams)."
            )
        if run.sent_at is None:
            unsent = "; ".join(
                f"{target}: {status}{f' ({error})' if error else ''}"
                for target, status, error in digest_unsent(run)
            )
            raise CommandError(
                f"The digest of the week of {week} is not sent to every channel yet: "
                f"{unsent or 'in progress'}. The deliveries retry it with backoff; see "
                "GET /api/v1/deliveries (a dead one can be retried there)."
            )
        self.stdout.write(
            f"The digest of the week of {week} was sent at {run.sent_at:%Y-%m-%d %H:%M %Z} "
            f"to {', '.join(run.recipients)}."
        )
