"""Lift a lockout before it ends by itself (config/throttling.py): a username's
or an IP's failed sign-ins, and an IP's wrong API keys."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.throttling import api_key_failures, login_failures, login_idents


class Command(BaseCommand):
    help = (
        "Forget the failed sign-ins of a username and/or an IP address, and the wrong API "
        "keys sent from that IP, lifting their lockout."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="", help="The username that is locked out.")
        parser.add_argument("--ip", default="", help="The client IP address that is locked out.")

    def handle(self, *args: Any, **options: Any) -> None:
        username, ip = options["username"].strip(), options["ip"].strip()
        if not username and not ip:
            raise CommandError("Give --username, --ip or both.")
        idents = login_idents(ip=ip, username=username)
        login_failures.reset(idents)
        unlocked = list(idents)
        if ip:
            api_key_failures.reset([ip])
            unlocked.append(f"api keys from {ip}")
        self.stdout.write(f"Unlocked: {', '.join(unlocked)}")
