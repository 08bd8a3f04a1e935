#!/usr/bin/env python
"""Saves that last, and money kept apart by currency, at scale.

    .venv/bin/python bench/saves.py --sessions 2000000
    flock /tmp/bench.lock .venv/bin/python bench/saves.py …   (on a shared machine)

Loads ``--sessions`` finished sessions over ``--days`` (default 365) into one
workspace of its own PostgreSQL database (``--database-url``, default
postgres://postgres@127.0.0.1:5432/bench_saves, created and migrated if missing;
``DATABASE_URL`` is ignored), with SQL (``generate_series``), not the flow: a
quarter saved (by one of two offers), the rest cancelled; ``--other-currency``
(default 0.02) of them in EUR rather than the workspace's USD. A third of the
saved customers cancel later (2 to 150 days after the save) and the rest renew
after 30 days, as subscription events; each save's first cancellation
(``save_cancelled_at``, which the services keep as they write) is then counted
from them. Then it times (p50/p95 of ``--repeat`` calls) what the dashboard and
the API read: ``saves`` (a year, per offer) at 30, 60 and 90 days, the
dashboard's three horizons (one statement), and ``other_currency_rows`` (the
sessions in other currencies that the money figures take out of the rollups) for
30 and 90 days, and prints PostgreSQL's plan of the 90-day figure. ``--check``
also holds each horizon's figure per offer to ``durable_saves_recount`` (the
definition, from the events; seconds each) and prints whether they are equal.
It asserts nothing. ``--reload`` drops the bench's database and loads again.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import ensure_database, recreate_database  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--other-currency", type=float, default=0.02)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--reload", action="store_true")
    parser.add_argument("--vacuum", action="store_true", help="VACUUM ANALYZE first.")
    parser.add_argument(
        "--check", action="store_true", help="Hold each figure to a recount from the events."
    )
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_saves")
    return parser.parse_args()


def timed(call: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    samples = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = call()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return statistics.median(samples), p95, result


def load(args: argparse.Namespace) -> None:
    from django.db import connection
    from django.utils import timezone

    from offers.saves import save_cancellations_refresh
    from offers.services import offer_create
    from workspaces.models import Workspace
    from workspaces.services import workspace_create

    Workspace.objects.filter(slug="bench-saves").delete()
    workspace = workspace_create(name="Bench saves", slug="bench-saves", currency="USD")
    survey = workspace.surveys.get(is_default=True)
    offers = [
        offer_create(
            workspace=workspace,
            name=f"{percent}% off",
            kind="discount_percent",
            terms={"percent": percent, "months": 3},
            categories=["price"],
            copy={"en": {"title": f"{percent}% off", "body": "For three months."}},
        )
        for percent in (20, 30)
    ]
    now = timezone.now()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO surveys_cancelsession (
                id, workspace_id, survey_id, survey_version, token, token_expires_at,
                customer_id, customer_email, customer_name, subscription_id, plan,
                mrr_cents, currency, locale, return_url, metadata, source, status,
                outcome, offer_id, accepted_terms, idempotency_key, request_fingerprint,
                created_at, answered_at, completed_at)
            SELECT gen_random_uuid(), %(ws)s, %(survey)s, 1, 'bench_' || i,
                   t + interval '1 day', 'cus_b' || i, '', '', 'sub_b' || i,
                   (ARRAY['Starter', 'Pro', 'Team'])[1 + i %% 3], 1900 + (i %% 5) * 1000,
                   CASE WHEN random() < %(other)s THEN 'EUR' ELSE 'USD' END, 'en', '',
                   '{}', 'api', 'completed',
                   CASE WHEN i %% 4 = 0 THEN 'saved' ELSE 'cancelled' END,
                   CASE WHEN i %% 4 = 0 THEN (ARRAY[%(a)s, %(b)s])[1 + i %% 2]::bigint END,
                   '{}', '', '', t, t + interval '20 seconds', t + interval '60 seconds'
            FROM (
                SELECT i, %(now)s::timestamptz - (random() * %(days)s) * interval '1 day' AS t
                FROM generate_series(1, %(n)s) AS i
            ) AS s
            """,
            {
                "ws": workspace.pk,
                "survey": survey.pk,
                "other": args.other_currency,
                "a": offers[0].pk,
                "b": offers[1].pk,
                "now": now,
                "days": args.days,
                "n": args.sessions,
            },
        )
        cursor.execute(
            """
            INSERT INTO offers_subscriptionevent (
                workspace_id, event_id, subscription_id, type, occurred_at, source,
                request_fingerprint, created_at)
            SELECT workspace_id, 'evt_' || subscription_id || '_' || kind, subscription_id,
                   kind, moment, 'api', '', %(now)s
            FROM (
                SELECT workspace_id, subscription_id,
                       CASE WHEN random() < 0.33 THEN 'cancelled' ELSE 'renewed' END AS kind,
                       completed_at + (2 + random() * 148) * interval '1 day' AS moment
                FROM surveys_cancelsession
                WHERE workspace_id = %(ws)s AND outcome = 'saved'
            ) AS e
            WHERE moment < %(now)s
            """,
            {"ws": workspace.pk, "now": now},
        )
        cursor.execute("ANALYZE surveys_cancelsession")
        cursor.execute("ANALYZE offers_subscriptionevent")
    # Rows written with SQL, past the services: each save's first cancellation
    # (offers.saves), which the event writes keep, counted from the events.
    counted = time.perf_counter()
    save_cancellations_refresh(workspace_id=workspace.pk)
    print(f"first cancellations counted in {time.perf_counter() - counted:.0f} s")
    with connection.cursor() as cursor:
        # What autovacuum would do soon after: statistics, and the visibility map
        # that lets the saved sessions be counted from the index alone.
        cursor.execute("VACUUM ANALYZE surveys_cancelsession")
        cursor.execute("VACUUM ANALYZE offers_subscriptionevent")
    print(f"loaded {args.sessions:,} sessions in {time.perf_counter() - started:.0f} s")


def main() -> None:
    args = parse_args()
    if args.reload:
        # The bench's own database (DATABASE_URL is ignored), loaded again from
        # empty: deleting 2M sessions through the ORM filled memory (12 GB).
        print(f"--reload: dropping and creating {args.database_url.rsplit('/', 1)[1]}")
        recreate_database(args.database_url)
    ensure_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret-" + "x" * 40)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from analytics.selectors.currency import other_currency_rows
    from analytics.selectors.filters import AnalyticsFilters, filters_bounds, workspace_today
    from analytics.selectors.saves import saves, saves_filters, saves_horizons
    from offers.saves import SavesScope, durable_saves, durable_saves_recount
    from surveys.models import CancelSession
    from workspaces.models import Workspace

    call_command("migrate", verbosity=0)
    if args.vacuum:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE surveys_cancelsession")
            cursor.execute("VACUUM ANALYZE offers_subscriptionevent")
    workspace = Workspace.objects.filter(slug="bench-saves").first()
    have = CancelSession.objects.filter(workspace=workspace).count() if workspace else 0
    if args.reload or have != args.sessions:
        load(args)
        workspace = Workspace.objects.get(slug="bench-saves")
    saved = CancelSession.objects.filter(workspace=workspace, outcome="saved").count()
    print(f"{args.sessions:,} sessions, {saved:,} saved, workspace {workspace.slug}")
    year = saves_filters(workspace=workspace, params={})
    year_since, year_until = filters_bounds(workspace, year)
    for horizon in (30, 60, 90):
        p50, p95, found = timed(
            lambda h=horizon: saves(workspace=workspace, filters=year, horizon=h), args.repeat
        )
        print(
            f"saves horizon={horizon:<3} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  "
            f"matured {found['matured']:,} retained {found['retained']:,} rate {found['rate']}"
        )
    p50, p95, _found = timed(lambda: saves_horizons(workspace=workspace, filters=year), args.repeat)
    print(f"dashboard's three horizons  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms")
    if args.check:
        scope = SavesScope(since=year_since, until=year_until)
        now = timezone.now()
        for horizon in (30, 60, 90):
            started = time.perf_counter()
            equal = durable_saves(
                workspace=workspace, horizon=horizon, scope=scope, group_by="offer_id", now=now
            ) == durable_saves_recount(
                workspace=workspace, horizon=horizon, scope=scope, group_by="offer_id", now=now
            )
            print(
                f"horizon={horizon:<3} per offer equal to a recount from the events: "
                f"{'yes' if equal else 'NO'} ({time.perf_counter() - started:.1f} s)"
            )
    today = workspace_today(workspace)
    for days in (30, 90):
        period = AnalyticsFilters(date_from=today - timedelta(days=days - 1), date_to=today)
        p50, p95, rows = timed(
            lambda f=period: other_currency_rows(
                workspace=workspace, filters=f, group_by=["offer_id", "outcome"]
            ),
            args.repeat,
        )
        print(
            f"other currencies, {days} days  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  "
            f"({sum(r['sessions'] for r in rows):,} sessions)"
        )
    # The plan of the 90-day figure (the total), as PostgreSQL runs it.
    with CaptureQueriesContext(connection) as captured:
        durable_saves(workspace=workspace, horizon=90, scope=SavesScope())
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + captured.captured_queries[-1]["sql"])
        print("\n".join(row[0] for row in cursor.fetchall()))


if __name__ == "__main__":
    main()
