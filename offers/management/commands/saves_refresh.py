"""Recount each save's first cancellation (``CancelSession.save_cancelled_at``,
which the saves figure reads) from the subscription events, a thousand
subscriptions at a time, each batch its own transaction.

    saves_refresh                                 # every save
    saves_refresh --since 2026-12-05T09:00Z       # what changed since then
    saves_refresh --workspace acme

``--since``: only the subscriptions with a cancellation recorded, or a save
made, from then on; after an upgrade, the time ``migrate`` started (what the
previous version wrote meanwhile). Running it again changes nothing.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.dateparse import parse_datetime

from offers.models import SubscriptionEvent, SubscriptionEventType
from offers.saves import save_cancellations_refresh
from surveys.models import CancelSession, Outcome
from workspaces.models import Workspace

BATCH = 1000
PROGRESS_EVERY = 5.0  # seconds between progress lines


class Command(BaseCommand):
    help = "Recount each save's first cancellation from the subscription events."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", default="", help="ISO time: only what changed since.")
        parser.add_argument("--workspace", default="", help="A workspace's slug.")

    def handle(self, *args: Any, **options: Any) -> None:
        since: datetime | None = None
        if options["since"]:
            since = parse_datetime(options["since"])
            if since is None or since.tzinfo is None:
                raise CommandError("--since: an ISO time with its offset (2026-12-05T09:00Z).")
        workspaces = Workspace.objects.order_by("pk")
        if options["workspace"]:
            workspaces = workspaces.filter(slug=options["workspace"])
            if not workspaces.exists():
                raise CommandError(f"No workspace {options['workspace']!r}.")
        written = 0
        for workspace_id in workspaces.values_list("pk", flat=True):
            saves = CancelSession.objects.filter(
                workspace_id=workspace_id, outcome=Outcome.SAVED, completed_at__isnull=False
            )
            if since is None:
                subscriptions = set(saves.values_list("subscription_id", flat=True))
            else:
                cancelled = SubscriptionEvent.objects.filter(
                    workspace_id=workspace_id,
                    type=SubscriptionEventType.CANCELLED,
                    created_at__gte=since,
                )
                subscriptions = set(cancelled.values_list("subscription_id", flat=True))
                subscriptions |= set(
                    saves.filter(completed_at__gte=since).values_list("subscription_id", flat=True)
                )
            ordered = sorted(subscriptions)
            self.stdout.write(
                f"workspace {workspace_id}: {len(ordered):,} subscriptions to recount"
            )
            started = time.monotonic()
            for start in range(0, len(ordered), BATCH):
                with transaction.atomic():
                    written += save_cancellations_refresh(
                        workspace_id=workspace_id, subscription_ids=ordered[start : start + BATCH]
                    )
                done = min(start + BATCH, len(ordered))
                if done < len(ordered) and time.monotonic() - started >= PROGRESS_EVERY:
                    started = time.monotonic()
                    self.stdout.write(f"  {done:,} of {len(ordered):,} subscriptions")
        self.stdout.write(f"{written:,} saves recounted.")
