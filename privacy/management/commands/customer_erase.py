"""Erase one customer's personal data in a workspace (as DELETE /api/v1/customers/{id})."""

from __future__ import annotations

import getpass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.errors import NotFound
from privacy.models import ErasedBy
from privacy.services import Actor, customer_erase, customer_session_ids
from workspaces.models import Workspace


class Command(BaseCommand):
    help = (
        "Erase a customer's email, name, id (replaced by a pseudonym), words, metadata, "
        "inbox notes, delivery contents and admin log entries in a workspace. Sessions and "
        "analytics figures stay. Asks for confirmation unless --yes is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", required=True, help="The workspace's slug.")
        parser.add_argument("customer_id", help="The customer's id, as the host gave it.")
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")
        parser.add_argument(
            "--user",
            help="The team member who asked for it (username), kept in the audit record.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace with the slug {options['workspace']!r}.")
        customer_id = options["customer_id"]
        actor = self._actor(options["user"])
        sessions = len(customer_session_ids(workspace=workspace, customer_id=customer_id))
        if not sessions:
            raise CommandError("Nothing is held about this customer in this workspace.")
        if not options["yes"]:
            try:
                answer = input(
                    f"Erase the personal data of {sessions} session(s) of this customer in "
                    f"{workspace.slug}? This cannot be undone. [y/N] "
                )
            except EOFError:  # no terminal to ask on
                raise CommandError("Nothing erased: confirm with --yes.") from None
            if answer.strip().lower() not in ("y", "yes"):
                raise CommandError("Nothing erased.")
        try:
            record = customer_erase(workspace=workspace, customer_id=customer_id, actor=actor)
        except NotFound as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"Erased; the customer is now {record.pseudonym}.")
        for kind, count in record.counts.items():
            self.stdout.write(f"  {kind}: {count}")
        self.stdout.write(f"Audit record #{record.pk}.")

    def _actor(self, username: str | None) -> Actor:
        if not username:
            try:
                who = getpass.getuser()
            except (KeyError, OSError):  # no login name (some containers)
                who = "unknown"
            return Actor(ErasedBy.COMMAND, f"customer_erase ({who})")
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        return Actor(ErasedBy.USER, user.get_username(), user_id=user.pk)
