"""Add someone to a workspace, or change their role, from the command line."""

from __future__ import annotations

import getpass
import os
import sys
from typing import Any

from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from config.errors import ServiceError
from workspaces.models import Membership, Role, Workspace
from workspaces.services import membership_set_role, user_create, user_set_credentials

PASSWORD_ENV = "MEMBER_PASSWORD"


class Command(BaseCommand):
    help = (
        "Create a user (or update their password and email) and make them a member of a "
        "workspace with a role; running it again changes the role. Admins get /admin/, "
        "analysts and support do not."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", required=True, metavar="SLUG")
        parser.add_argument("--username", required=True)
        parser.add_argument(
            "--password",
            default=None,
            help=f"The password (else ${PASSWORD_ENV}, else asked for on a terminal). "
            "An existing user keeps theirs when none is given.",
        )
        parser.add_argument("--role", required=True, metavar="|".join(Role.values))
        parser.add_argument("--email", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        slug, username, role = options["workspace"], options["username"], options["role"]
        if role not in Role.values:
            raise CommandError(f"Unknown role {role!r}: use one of {', '.join(Role.values)}.")
        workspace = Workspace.objects.filter(slug=slug).first()
        if workspace is None:
            known = ", ".join(Workspace.objects.order_by("slug").values_list("slug", flat=True))
            raise CommandError(f"No workspace {slug!r}. Known: {known or 'none yet'}.")
        user = User.objects.filter(username=username).first()
        password = self._password(options["password"], required=user is None)
        if password:
            try:
                validate_password(password, user=user)
            except ValidationError as error:
                raise CommandError("Password refused: " + " ".join(error.messages)) from None

        done = []
        with transaction.atomic():
            if user is None:
                user = user_create(
                    username=username, password=password, email=options["email"] or ""
                )
                done.append(f"created user {username}")
            else:
                changed = [
                    what
                    for what, given in (("password", password), ("email", options["email"]))
                    if given is not None and given != ""
                ]
                user_set_credentials(user=user, password=password, email=options["email"])
                if changed:
                    done.append(f"updated the {' and '.join(changed)} of {username}")
            before = (
                Membership.objects.filter(workspace=workspace, user=user)
                .values_list("role", flat=True)
                .first()
            )
            try:
                membership_set_role(workspace=workspace, user=user, role=role)
            except ServiceError as error:
                raise CommandError(error.message) from None
        if before is None:
            done.append(f"added {username} to {slug} as {role}")
        elif before != role:
            done.append(f"changed the role of {username} in {slug} from {before} to {role}")
        else:
            done.append(f"{username} was already {role} in {slug}")
        user.refresh_from_db(fields=["is_staff"])
        admin_note = "can" if user.is_staff else "cannot"
        said = "; ".join(done)
        self.stdout.write(f"{said[0].upper()}{said[1:]}. {username} {admin_note} open /admin/.")

    def _password(self, given: str | None, *, required: bool) -> str:
        password = given if given is not None else os.environ.get(PASSWORD_ENV, "")
        if not password and required and sys.stdin.isatty():
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords did not match.")
        if not password and required:
            raise CommandError(
                f"A new user needs a password: --password, ${PASSWORD_ENV}, or a terminal."
            )
        return password
