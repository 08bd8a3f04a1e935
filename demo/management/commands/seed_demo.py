"""Create (or refresh) the demo workspace, and optionally months of history."""

from __future__ import annotations

import json
import secrets
import sys
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from tqdm import tqdm

from alerts.services import routing_defaults_create
from demo.history import history_create, history_exists
from offers.demo import offers_demo_create
from surveys.api import session_url
from surveys.models import Competitor
from surveys.services import (
    CustomerInput,
    SubscriptionInput,
    session_open,
)
from workspaces.models import Role, Workspace
from workspaces.origins import url_origin
from workspaces.services import (
    api_key_issue,
    membership_set_role,
    user_create,
    user_set_credentials,
    workspace_create,
    workspace_update,
)

DEMO_COMPETITORS = [("Acme", ["acme.io", "艾克米"]), ("Globex", ["globex.com", "格洛贝克斯"])]


class Command(BaseCommand):
    help = "Create the demo workspace with its survey and offers; --history adds past sessions."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")
        history = parser.add_mutually_exclusive_group()
        history.add_argument(
            "--history", type=int, default=0, metavar="N", help="Add N past sessions."
        )
        history.add_argument(
            "--history-if-none",
            type=int,
            default=0,
            metavar="N",
            help="Add N past sessions unless the demo has a history already "
            "(what `make run` passes: months to look at on the first run, none added later).",
        )
        parser.add_argument("--days", type=int, default=180, help="History spread (days).")
        parser.add_argument("--seed", type=int, default=None, help="Random seed for history.")
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default=None, help="Default: a new random one.")

    def handle(self, *args: Any, **options: Any) -> None:
        for flag in ("history", "history_if_none"):
            if options[flag] < 0:
                raise CommandError(f"--{flag.replace('_', '-')} must be 0 or more.")
        if options["days"] < 1:
            raise CommandError("--days must be at least 1.")
        password = options["password"] or secrets.token_urlsafe(9)
        with transaction.atomic():
            workspace = Workspace.objects.filter(slug="demo").first()
            if workspace is None:
                workspace = workspace_create(name="Demo Cloud", slug="demo", currency="USD")
            offers_demo_create(workspace=workspace)
            user = User.objects.filter(username=options["username"]).first()
            if user is None:
                user = user_create(username=options["username"], password=password)
            else:
                user_set_credentials(user=user, password=password)
            # An admin of the demo, so staff: membership_set_role keeps is_staff in step.
            membership_set_role(workspace=workspace, user=user, role=Role.ADMIN)
            for team in routing_defaults_create(workspace=workspace, email_domain="demo.example"):
                team.members.add(user)
            for name, aliases in DEMO_COMPETITORS:
                Competitor.objects.get_or_create(
                    workspace=workspace, name=name, defaults={"aliases": aliases}
                )
            issued = api_key_issue(workspace=workspace, name="demo")
            # The demo's "product" is /demo/ on this service: once someone narrows
            # the allowed origins, its own stays on the list (else its sessions fail).
            own = url_origin(settings.PUBLIC_BASE_URL)
            if own and workspace.allowed_origins and own not in workspace.allowed_origins:
                workspace_update(
                    workspace=workspace, allowed_origins=[*workspace.allowed_origins, own]
                )
            sample = session_open(
                workspace=workspace,
                customer=CustomerInput(id="cus_demo", email="ada@example.com", name="Ada"),
                subscription=SubscriptionInput(id="sub_demo", plan="Pro", mrr_cents=4900),
                return_url=f"{settings.PUBLIC_BASE_URL.rstrip('/')}/demo/",
            ).session

        made = events = 0
        count = options["history"]
        if options["history_if_none"] and not history_exists(workspace=workspace):
            count = options["history_if_none"]
            self.stderr.write(f"Adding {count} past sessions so the dashboard has months to show…")
        if count:
            bar = tqdm(
                total=count,
                desc="history",
                unit="session",
                file=sys.stderr,
                disable=None,
            )
            result = history_create(
                workspace=workspace,
                count=count,
                days=options["days"],
                seed=options["seed"],
                progress=bar.update,
            )
            bar.close()
            made = result.sessions
            events = result.subscription_events

        base = settings.PUBLIC_BASE_URL.rstrip("/")
        urls = {
            "demo_host": f"{base}/demo/",
            "sample_cancel_page": session_url(sample),
            "admin": f"{base}/admin/",
            "api_docs": f"{base}/api/docs/",
            "sign_in": f"{base}/accounts/login/",
            "dashboard": f"{base}/app/{workspace.slug}/",
            "inbox": f"{base}/app/{workspace.slug}/inbox/",
        }
        out: dict[str, Any] = {
            "workspace": workspace.public_id,
            "workspace_slug": workspace.slug,
            "api_key": issued.raw_key,
            "identity_secret": workspace.identity_secret,
            "username": user.get_username(),
            "password": password,
            "history_sessions": made,
            "history_subscription_events": events,
            "urls": urls,
        }
        if options["json"]:
            self.stdout.write(json.dumps(out))
            return
        self.stdout.write(self.style.SUCCESS(f"Demo workspace '{workspace.name}' is ready."))
        for label, value in [
            ("Try the cancel flow", urls["demo_host"]),
            ("A sample cancel page", urls["sample_cancel_page"]),
            ("Admin", f"{urls['admin']}  (user {out['username']}, password {password})"),
            ("Sign in (web UI)", f"{urls['sign_in']}  (same user)"),
            ("Dashboard", urls["dashboard"]),
            ("At-risk inbox", urls["inbox"]),
            ("API docs", urls["api_docs"]),
            ("API key (shown once)", out["api_key"]),
            (
                "Workspace id / identity secret",
                f"{workspace.public_id} / {workspace.identity_secret}",
            ),
        ]:
            self.stdout.write(f"  {label}: {value}")
        if made:
            self.stdout.write(
                f"  Added {made} past sessions and {events} later subscription events."
            )
