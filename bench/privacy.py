#!/usr/bin/env python
"""Time exporting and erasing one customer, and the retention task, on PostgreSQL.

    .venv/bin/python bench/privacy.py [--sessions 50] [--customers 5] [--others 2000]

Makes ``--customers`` customers with ``--sessions`` sessions each (answered in
their words and cancelled, each alerting a team by email, with an inbox note and
an admin log entry), among ``--others`` sessions of other customers, through the
real flow. Then times, per customer, the export and the erasure (the service the
API and the command call, one transaction), and the retention task over the
others (erased in batches of 500). Prints figures; asserts nothing.

Needs PostgreSQL: DATABASE_URL, or the default
postgres://postgres@127.0.0.1:5432/bench_privacy (created if missing; its data is
replaced on each run). Tasks run in-process (no REDIS_URL).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import ensure_database  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench_privacy"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=50, help="Sessions per erased customer.")
    parser.add_argument("--customers", type=int, default=5, help="Customers erased (timed).")
    parser.add_argument("--others", type=int, default=2000, help="Sessions of other customers.")
    args = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", DEFAULT_DB)
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.admin.models import CHANGE, LogEntry
    from django.contrib.auth.models import User
    from django.contrib.contenttypes.models import ContentType
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from alerts.models import Alert, Channel, RoutingRule, Team
    from alerts.services import alert_update
    from privacy.selectors import customer_export
    from privacy.services import Actor, customer_erase, retention_erase
    from surveys.models import CancelSession
    from surveys.services import (
        CustomerInput,
        SubscriptionInput,
        session_answer,
        session_cancel,
        session_open,
    )
    from workspaces.models import Workspace
    from workspaces.services import workspace_create

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("migrate", verbosity=0)
    Workspace.objects.filter(slug="bench-privacy").delete()
    workspace = workspace_create(name="Bench privacy", slug="bench-privacy")
    team = Team.objects.create(workspace=workspace, name="Success")
    Channel.objects.create(team=team, kind="email", target="success@bench.test")
    RoutingRule.objects.create(workspace=workspace, team=team, name="everything")
    user, _ = User.objects.get_or_create(username="bench-privacy-support")
    session_type = ContentType.objects.get_for_model(CancelSession)

    def customer_with(customer_id: str, sessions: int, *, days_ago: int = 0) -> None:
        for n in range(sessions):
            at = timezone.now() - timedelta(days=days_ago)
            session = session_open(
                workspace=workspace,
                customer=CustomerInput(
                    id=customer_id, email=f"{customer_id}@example.net", name=f"Name {customer_id}"
                ),
                subscription=SubscriptionInput(id=f"sub_{customer_id}", plan="Pro", mrr_cents=4900),
                metadata={"segment": f"seg-{customer_id}"},
                return_url=f"https://host.example/{customer_id}",
                now=at,
            ).session
            session_answer(
                token=session.token,
                reason_code="quality",
                text=f"{customer_id} says it broke again ({n})",
                now=at,
            )
            session_cancel(token=session.token, now=at)
            if days_ago == 0:
                alert = Alert.objects.get(session=session)
                alert_update(
                    alert=alert, user=user, status="contacted", assignee_id=None, note="Called"
                )
                LogEntry.objects.create(
                    user=user,
                    content_type=session_type,
                    object_id=str(session.pk),
                    object_repr=str(session),
                    action_flag=CHANGE,
                    change_message="[]",
                )

    started = time.perf_counter()
    for n in range(args.others):
        customer_with(f"cus_other_{n}", 1, days_ago=60)
    erased = [f"cus_bench_{n}" for n in range(args.customers)]
    for customer in erased:
        customer_with(customer, args.sessions)
    print(
        f"made {args.others + args.customers * args.sessions} sessions in "
        f"{time.perf_counter() - started:.1f} s ({connection.vendor})"
    )

    exports, erasures = [], []
    for customer in erased:
        began = time.perf_counter()
        document = customer_export(workspace=workspace, customer_id=customer)
        exports.append(time.perf_counter() - began)
        assert document is not None and len(document["sessions"]) == args.sessions
        began = time.perf_counter()
        record = customer_erase(
            workspace=workspace, customer_id=customer, actor=Actor("command", "bench")
        )
        erasures.append(time.perf_counter() - began)
    counts = record.counts
    print(f"export of a customer with {args.sessions} sessions: ", end="")
    print(f"median {statistics.median(exports) * 1000:.0f} ms, max {max(exports) * 1000:.0f} ms")
    print(f"erasure of a customer with {args.sessions} sessions: ", end="")
    print(
        f"median {statistics.median(erasures) * 1000:.0f} ms, "
        f"max {max(erasures) * 1000:.0f} ms (rows: {counts})"
    )

    Workspace.objects.filter(pk=workspace.pk).update(retain_personal_data_days=30)
    began = time.perf_counter()
    done = retention_erase()
    took = time.perf_counter() - began
    print(
        f"retention: {done} sessions erased in {took:.2f} s "
        f"({done / took if took else 0:.0f} sessions/s, batches of 500)"
    )


if __name__ == "__main__":
    main()
