#!/usr/bin/env python
"""Drive the cancel flow under gunicorn on PostgreSQL and compare each endpoint
with the stack's floor (a bare Django view doing one indexed query).

    .venv/bin/python bench/flow.py [--seconds 10] [--clients 8] [--workers 3]

Each endpoint gets its own phase of the same length and concurrency as the
floor, against sessions prepared in the right state, so the ratios compare like
with like. A phase runs as ``--rounds`` slices, taken round-robin with the other
phases, so that a change in the machine's load during the run (another job
starting or ending) weighs on every phase alike rather than on whichever phase
ran then. Prints requests/s, p50 and p99 per endpoint and the ratio to the floor
(throughput; 1.0 = as fast as the floor), and for the write endpoints the ratio to
the "write floor": the bare transaction a transition needs, in raw SQL (see
``bench/urls.py``). Needs PostgreSQL: DATABASE_URL, or the
default postgres://postgres@127.0.0.1:5432/bench_flow (created if missing), and
Redis for the outcomes' queued alerts: BENCH_REDIS_URL, default
redis://127.0.0.1:6379/15 (emptied at the end). ``--fresh`` drops and creates
the bench's database first: runs on one database otherwise inherit the dead rows
and index growth of the runs before, which moved the write endpoints by 10 to 15%
between two back-to-back runs here (autovacuum off).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import ensure_database, recreate_database  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench_flow"
BENCH_REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")


def prepare(sessions_per_phase: int) -> dict:
    """Migrate, make the workspace, and sessions in each state the phases need."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from offers.models import Offer
    from surveys.models import CancelSession, SessionStatus
    from surveys.services import session_answer
    from tests.factories import make_offer
    from workspaces.models import Workspace
    from workspaces.services import api_key_issue, workspace_create

    call_command("migrate", verbosity=0)
    workspace = Workspace.objects.filter(slug="bench").first() or workspace_create(
        name="Bench", slug="bench"
    )
    offer = Offer.objects.filter(workspace=workspace).first() or make_offer(workspace)
    key = api_key_issue(workspace=workspace, name="bench").raw_key
    survey = workspace.surveys.get(is_default=True)
    now = timezone.now()
    run = secrets.token_hex(3)

    def make(label: str) -> list[str]:
        rows = [
            CancelSession(
                workspace=workspace,
                survey=survey,
                survey_version=survey.version,
                token_expires_at=now + timedelta(hours=2),
                customer_id=f"cus_{run}_{label}_{i}",
                subscription_id=f"sub_{run}_{label}_{i}",
                plan="Pro",
                mrr_cents=4900,
                currency="USD",
                locale="en",
                created_at=now,
            )
            for i in range(sessions_per_phase)
        ]
        CancelSession.objects.bulk_create(rows, batch_size=2000)
        return [row.token for row in rows]

    print(f"preparing {sessions_per_phase} sessions per phase…", file=sys.stderr)
    answer_tokens = make("answer")
    cancel_tokens = make("cancel")
    accept_tokens = make("accept")
    for n, token in enumerate(accept_tokens):
        session_answer(token=token, reason_code="too_expensive")
        if n % 1000 == 999:
            print(f"  answered {n + 1}/{len(accept_tokens)} for the accept phase", file=sys.stderr)
    read_tokens = make("read")
    write_floor_tokens = write_floor_sessions(sessions_per_phase, run)
    # Statistics and dead rows as autovacuum keeps them in production (it may be
    # off on a bench machine): each run adds tens of thousands of rows at once,
    # and with stale figures the planner takes a customer's history from the
    # wrong index (the saves' index, scanned from the newest save: 45 ms an
    # answer instead of 0.04 on 560k sessions). Then a checkpoint, so that no
    # timed one (every 5 minutes by default) falls in the middle of one run and
    # not another: each run starts as just after one, where the first change to
    # each page writes it whole to the WAL.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("CHECKPOINT")
    assert CancelSession.objects.filter(
        token__in=accept_tokens[:5], status=SessionStatus.OFFERED
    ).count() == min(5, len(accept_tokens))
    return {
        "key": key,
        "offer": offer.pk,
        "run": run,
        "answer": answer_tokens,
        "cancel": cancel_tokens,
        "accept": accept_tokens,
        "read": read_tokens,
        "write_floor": write_floor_tokens,
    }


def in_process(hosts: str = "testserver") -> str:
    """Set up this process to drive the app through Django's test client
    (``bench/profile_flow.py``, ``bench/wal.py``): the bench's settings, its
    PostgreSQL database (created if missing) and Redis, no throttling. Returns
    the database URL."""
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DB
    ensure_database(database_url)
    os.environ.update(
        {
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "ALLOWED_HOSTS": hosts,
            "REDIS_URL": BENCH_REDIS,
            "THROTTLE_ENABLED": "false",
        }
    )
    return database_url


def client_endpoints(client: Any, data: dict, label: str) -> dict[str, Callable[[int], Any]]:
    """The floors and the flow's endpoints as calls of Django's test client (one
    process, no server; ``bench/profile_flow.py``, ``bench/wal.py``): the i-th
    call takes the i-th prepared session of its phase. ``label`` names the
    customers that the opening calls make."""
    bearer = f"Bearer {data['key']}"

    def open_body(i: int) -> str:
        return json.dumps(
            {
                "customer": {"id": f"cus_{label}_{data['run']}_{i}"},
                "subscription": {"id": f"sub_{label}_{data['run']}_{i}", "plan": "Pro"},
            }
        )

    return {
        "floor (1 indexed query)": lambda i: client.get("/bench/floor"),
        "write floor (bare txn)": lambda i: client.post(
            f"/bench/write-floor/{data['write_floor'][i]}"
        ),
        "POST /api/v1/sessions": lambda i: client.post(
            "/api/v1/sessions",
            open_body(i),
            content_type="application/json",
            HTTP_AUTHORIZATION=bearer,
        ),
        "GET /api/v1/flow/{token}": lambda i: client.get(f"/api/v1/flow/{data['read'][i]}"),
        "GET /c/{token}/ (page)": lambda i: client.get(f"/c/{data['read'][i]}/"),
        "POST …/answer": lambda i: client.post(
            f"/api/v1/flow/{data['answer'][i]}/answer",
            '{"reason": "too_expensive"}',
            content_type="application/json",
        ),
        "POST …/accept": lambda i: client.post(
            f"/api/v1/flow/{data['accept'][i]}/accept",
            json.dumps({"offer": data["offer"]}),
            content_type="application/json",
        ),
        "POST …/cancel": lambda i: client.post(
            f"/api/v1/flow/{data['cancel'][i]}/cancel", content_type="application/json"
        ),
    }


def write_floor_sessions(count: int, run: str) -> list[str]:
    """Tables and rows for the write floor (``bench/urls.py``), outside the
    product's schema; made once, filled per run."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_wf_session (id bigserial PRIMARY KEY, "
            "token varchar(64) NOT NULL UNIQUE, status varchar(20) NOT NULL, "
            "changed_at timestamptz)"
        )
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_wf_rollup (day date NOT NULL, "
            "outcome varchar(10) NOT NULL, shard smallint NOT NULL, sessions bigint NOT NULL, "
            "PRIMARY KEY (day, outcome, shard))"
        )
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_wf_outbox (id bigserial PRIMARY KEY, "
            "session_id bigint NOT NULL, created_at timestamptz NOT NULL)"
        )
        tokens = [f"wf_{run}_{i}_{secrets.token_urlsafe(16)}" for i in range(count)]
        cursor.executemany(
            "INSERT INTO bench_wf_session (token, status) VALUES (%s, 'started')",
            [(t,) for t in tokens],
        )
    return tokens


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int, workers: int, threads: int, env: dict) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/bench/floor")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("gunicorn did not start")


def client(args: tuple) -> tuple[list[float], int, int]:
    """One client process: send its requests until the deadline; keep-alive.
    Returns the latencies of the answered requests, the errors, and how many of
    its requests it took."""
    port, requests, deadline = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies: list[float] = []
    errors = 0
    taken = 0
    for method, path, body, headers in requests:
        if time.monotonic() >= deadline:
            break
        taken += 1
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status >= 400:
                errors += 1
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            continue
        latencies.append(time.perf_counter() - started)
    conn.close()
    return latencies, errors, taken


def run_slice(port: int, clients: int, seconds: float, requests: list) -> dict:
    """One slice of a phase: its latencies, errors, wall time and requests used."""
    shares = [requests[i::clients] for i in range(clients)]
    with multiprocessing.Pool(clients) as pool:
        start = time.monotonic()
        deadline = start + seconds
        results = pool.map(client, [(port, share, deadline) for share in shares])
        elapsed = time.monotonic() - start
    return {
        "latencies": [x for lat, _e, _n in results for x in lat],
        "errors": sum(e for _l, e, _n in results),
        "elapsed": elapsed,
        # each client takes every clients-th request of the slice, in order
        "used": max((n - 1) * clients + i + 1 for i, (_l, _e, n) in enumerate(results) if n)
        if any(n for _l, _e, n in results)
        else 0,
    }


def summarise(slices: list[dict], requests: int) -> dict:
    """A phase's figures over all its slices: total requests over total time."""
    latencies = sorted(x for s in slices for x in s["latencies"])
    errors = sum(s["errors"] for s in slices)
    elapsed = sum(s["elapsed"] for s in slices)
    if not latencies:
        return {"rps": 0.0, "p50": 0.0, "p99": 0.0, "n": 0, "errors": errors}
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return {
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": p99 * 1000,
        "n": len(latencies),
        "errors": errors,
        "exhausted": len(latencies) >= requests,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds per phase")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="split each phase into this many slices, run round-robin across the phases, "
        "so a change of the machine's load during the run falls on every phase alike",
    )
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sessions", type=int, default=8000, help="sessions per phase")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="drop and create the bench's database first (a database of its own only!), "
        "so that a run inherits no dead rows and no index growth from the runs before",
    )
    options = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DB
    if not database_url.startswith("postgres"):
        raise SystemExit("bench/flow.py measures PostgreSQL: set DATABASE_URL=postgres://…")
    if options.fresh:
        print(f"--fresh: dropping and creating {database_url.rsplit('/', 1)[1]}", file=sys.stderr)
        recreate_database(database_url)
    elif database_url == DEFAULT_DB:
        ensure_database(database_url)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # The production topology: outcomes queue their alert fan-out on Redis (a
        # database of its own, emptied afterwards; no worker runs here).
        "REDIS_URL": BENCH_REDIS,
        # One key and a few tokens send thousands of requests: no throttling here.
        "THROTTLE_ENABLED": "false",
    }
    os.environ.update(env)
    data = prepare(options.sessions)
    port = free_port()
    server = start_server(port, options.workers, options.threads, env)
    json_headers = {"Content-Type": "application/json"}
    auth = {**json_headers, "Authorization": f"Bearer {data['key']}"}

    def open_body(i: int) -> str:
        return json.dumps(
            {
                "customer": {"id": f"cus_open_{data['run']}_{i}"},
                "subscription": {
                    "id": f"sub_open_{data['run']}_{i}",
                    "plan": "Pro",
                    "mrr_cents": 4900,
                },
            }
        )

    n = options.sessions
    phases = {
        "floor (1 indexed query)": [("GET", "/bench/floor", None, {})] * (n * 4),
        "write floor (bare txn)": [
            ("POST", f"/bench/write-floor/{t}", None, {}) for t in data["write_floor"]
        ],
        "POST /api/v1/sessions": [
            ("POST", "/api/v1/sessions", open_body(i), auth) for i in range(n)
        ],
        "GET /api/v1/flow/{token}": [
            ("GET", f"/api/v1/flow/{t}", None, {}) for t in data["read"] * 4
        ],
        "GET /c/{token}/ (page)": [("GET", f"/c/{t}/", None, {}) for t in data["read"] * 4],
        "POST …/answer": [
            ("POST", f"/api/v1/flow/{t}/answer", '{"reason": "too_expensive"}', json_headers)
            for t in data["answer"]
        ],
        "POST …/accept": [
            ("POST", f"/api/v1/flow/{t}/accept", json.dumps({"offer": data["offer"]}), json_headers)
            for t in data["accept"]
        ],
        "POST …/cancel": [
            ("POST", f"/api/v1/flow/{t}/cancel", None, json_headers) for t in data["cancel"]
        ],
    }
    try:
        run_slice(port, options.clients, 2.0, phases["floor (1 indexed query)"])  # warm-up
        rounds = max(1, options.rounds)
        slices: dict[str, list[dict]] = {name: [] for name in phases}
        offsets = dict.fromkeys(phases, 0)
        for round_ in range(rounds):
            print(f"round {round_ + 1} of {rounds}…", file=sys.stderr)
            for name, requests in phases.items():
                # a write's sessions are used once: each slice starts where the last ended
                part = run_slice(
                    port, options.clients, options.seconds / rounds, requests[offsets[name] :]
                )
                offsets[name] += part["used"]
                slices[name].append(part)
        results = {name: summarise(slices[name], len(phases[name])) for name in phases}
    finally:
        server.terminate()
        server.wait(10)
        import redis

        redis.Redis.from_url(BENCH_REDIS).flushdb()

    floor_rps = results["floor (1 indexed query)"]["rps"]
    write_rps = results["write floor (bare txn)"]["rps"]
    writes = {"POST /api/v1/sessions", "POST …/answer", "POST …/accept", "POST …/cancel"}
    print(
        f"\ngunicorn {options.workers} workers x {options.threads} threads, "
        f"{options.clients} client processes, {options.seconds:.0f} s per phase "
        f"in {max(1, options.rounds)} round-robin slices, PostgreSQL\n"
    )
    print(
        f"{'endpoint':28} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'x floor':>8} "
        f"{'x write':>8} {'errors':>7}"
    )
    for name, r in results.items():
        ratio = r["rps"] / floor_rps if floor_rps else 0.0
        to_write = f"{r['rps'] / write_rps:8.2f}" if name in writes and write_rps else " " * 8
        note = "  (ran out of prepared sessions: raise --sessions)" if r.get("exhausted") else ""
        print(
            f"{name:28} {r['rps']:8.0f} {r['p50']:8.1f} {r['p99']:8.1f} {ratio:8.2f} "
            f"{to_write} {r['errors']:7d}{note}"
        )
    print(
        "\nx floor: throughput against one indexed query. x write: a write endpoint "
        "against the write floor, the same server doing only the transaction every "
        "transition needs (lock, update, rollup upsert, outbox insert) in raw SQL."
    )


if __name__ == "__main__":
    main()
