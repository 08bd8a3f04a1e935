#!/usr/bin/env python
"""How much write-ahead log each write of the flow makes, and where it goes.

    .venv/bin/python bench/wal.py [--requests 1000] [--top 8] [--history 200000]

Prepares sessions as ``bench/flow.py`` does, then for the write floor and each
write endpoint: a CHECKPOINT, ``--requests`` requests through Django's test
client (one process, no server), and the WAL written meanwhile, read back with
PostgreSQL's ``pg_walinspect`` (15+; the extension is created if missing, which
needs a superuser). Prints per endpoint the bytes of WAL per request, how many of
them are full-page images (the first change to a page after a checkpoint writes
the whole 8 kB page), and the relations (tables, indexes) with the most
full-page images per request: an index written at random places (a random key)
is where they come from. Right after a checkpoint is the worst case; between
checkpoints a page is written whole once, so the more distinct pages a workload
touches, the nearer it stays to it. How many pages an index has decides how
often a random key lands on one not yet written: ``--history N`` first adds N
finished sessions (made as the code makes them, ids and tokens included) to the
bench's database, so that it is the size of a real one; it stays for later
runs. PostgreSQL: DATABASE_URL, or the default
postgres://postgres@127.0.0.1:5432/bench_flow. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.flow import client_endpoints, in_process, prepare  # noqa: E402

# Each block a WAL record touches: its relation's file and whether the record
# carries the whole page (PostgreSQL 15's pg_get_wal_records_info block_ref).
BLOCKS = r"rel \d+/\d+/(\d+) fork \w+ blk \d+( \(FPW\))?"


def history(count: int, batch: int = 5000) -> None:
    """Add ``count`` cancelled sessions of the bench workspace, made with the
    model's own defaults (id, token), in batches, with progress."""
    import time
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from surveys.models import CancelSession, Outcome, SessionStatus
    from workspaces.models import Workspace

    workspace = Workspace.objects.get(slug="bench")
    survey = workspace.surveys.get(is_default=True)
    now = timezone.now()
    started = time.monotonic()
    for done in range(0, count, batch):
        rows = [
            CancelSession(
                workspace=workspace,
                survey=survey,
                survey_version=survey.version,
                token_expires_at=now,
                customer_id=f"cus_h{done + i}",
                subscription_id=f"sub_h{done + i}",
                plan="Pro",
                mrr_cents=4900,
                currency="USD",
                locale="en",
                status=SessionStatus.COMPLETED,
                outcome=Outcome.CANCELLED,
                created_at=now - timedelta(days=1),
                completed_at=now - timedelta(days=1),
            )
            for i in range(min(batch, count - done))
        ]
        CancelSession.objects.bulk_create(rows)
        print(
            f"  history: {done + len(rows)}/{count} sessions ({time.monotonic() - started:.0f} s)",
            file=sys.stderr,
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE surveys_cancelsession")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests per endpoint")
    parser.add_argument("--top", type=int, default=8, help="relations listed per endpoint")
    parser.add_argument(
        "--history", type=int, default=0, help="finished sessions to add to the database first"
    )
    options = parser.parse_args()

    in_process()
    n = options.requests
    data = prepare(n)
    if options.history:
        history(options.history)

    from django.db import connection
    from django.test import Client

    def rows(sql: str, params: list | None = None) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params or [])
            return list(cursor.fetchall())

    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_walinspect")

    writes = (
        "write floor (bare txn)",
        "POST /api/v1/sessions",
        "POST …/answer",
        "POST …/accept",
        "POST …/cancel",
    )
    calls = client_endpoints(Client(), data, "wal")
    endpoints = {name: calls[name] for name in writes}
    print(f"\n{'endpoint':24} {'WAL B/req':>10} {'full pages B/req':>17}")
    details = []
    for name, call in endpoints.items():
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
        [(start,)] = rows("SELECT pg_current_wal_insert_lsn()::text")
        for i in range(n):
            call(i)
        [(end,)] = rows("SELECT pg_current_wal_insert_lsn()::text")
        [(total, pages)] = rows(
            "SELECT pg_wal_lsn_diff(%s::pg_lsn, %s::pg_lsn), COALESCE(SUM(fpi_length), 0) "
            "FROM pg_get_wal_records_info(%s::pg_lsn, %s::pg_lsn)",
            [end, start, start, end],
        )
        print(f"{name:24} {total / n:10.0f} {pages / n:17.0f}")
        top = rows(
            "SELECT COALESCE(c.relname, 'file ' || b.m[1]), "
            "COUNT(*) FILTER (WHERE b.m[2] IS NOT NULL), COUNT(*) "
            "FROM (SELECT regexp_matches(block_ref, %s, 'g') AS m "
            "FROM pg_get_wal_records_info(%s::pg_lsn, %s::pg_lsn) "
            "WHERE block_ref IS NOT NULL) b "
            "LEFT JOIN pg_class c ON c.relfilenode = b.m[1]::oid "
            "GROUP BY 1 ORDER BY 2 DESC, 3 DESC LIMIT %s",
            [BLOCKS, start, end, options.top],
        )
        details.append((name, top))
    for name, top in details:
        print(f"\n{name}: full-page images and blocks changed per request, by relation")
        for relation, full_pages, blocks in top:
            print(f"  {relation:56} {full_pages / n:6.3f} {blocks / n:6.2f}")


if __name__ == "__main__":
    main()
