"""Lift a sign-in lockout before it ends by itself (config/throttling.py)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.throttling import login_failures, login_idents


class Command(BaseCommand):
    help = "Forget the failed sign-ins of a username and/or an IP address, lifting their lockout."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="", help="The username that is locked out.")
        parser.add_argument("--ip", default="", help="The client IP address that is locked out.")

    def handle(self, *args: Any, **options: Any) -> None:
        username, ip = options["username"].strip(), options["ip"].strip()
        if not username and not ip:
            raise CommandError("Give --username, --ip or both.")
        idents = login_idents(ip=ip, username=username)
        login_failures.reset(idents)
        self.stdout.write(f"Unlocked: {', '.join(idents)}")
