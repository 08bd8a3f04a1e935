"""Print (or write to a file) everything held about one customer, as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from privacy.selectors import customer_export
from workspaces.models import Workspace


class Command(BaseCommand):
    help = (
        "Export everything held about a customer in a workspace (sessions, their words, "
        "offers, alerts, inbox notes, deliveries) as JSON: the same document as "
        "GET /api/v1/customers/{id}/export."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", required=True, help="The workspace's slug.")
        parser.add_argument("customer_id", help="The customer's id, as the host gave it.")
        parser.add_argument("--output", help="Write the JSON to this file instead of stdout.")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace with the slug {options['workspace']!r}.")
        document = customer_export(workspace=workspace, customer_id=options["customer_id"])
        if document is None:
            raise CommandError("Nothing is held about this customer in this workspace.")
        text = json.dumps(document, ensure_ascii=False, indent=2)
        if options["output"]:
            path = Path(options["output"])
            try:
                path.write_text(text + "\n", encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"Cannot write {path}: {exc}") from None
            sessions = len(document["sessions"])
            self.stdout.write(f"Wrote {sessions} session(s) to {path}.")
        else:
            self.stdout.write(text)
