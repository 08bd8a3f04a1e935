#!/usr/bin/env python
"""Complete cancellations at a steady rate with a live Celery worker and measure
how fast their outcome webhooks and alerts reach real receivers on loopback.

    .venv/bin/python bench/alerts.py [--rate 50] [--seconds 20] [--concurrency 3]

Each cancellation makes one outcome event for the host's endpoint and one alert
(a routing rule sends every cancellation to a team with a signed-webhook channel),
so the worker delivers two messages per cancellation. Prints the rate achieved,
deliveries per second, the latency from the outcome's commit to the receiver
(p50, p99, max) for both kinds, and how many were lost or duplicated.

Needs PostgreSQL and Redis: DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/bench_alerts, created if missing) and REDIS_URL
(default redis://127.0.0.1:6379/0). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import ensure_database, percentile  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench_alerts"


class Arrivals:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = {"endpoint": [], "alert": []}
        self.seen: dict[str, set[str]] = {"endpoint": set(), "alert": set()}
        self.duplicates = 0

    def record(self, kind: str, event: dict[str, Any]) -> None:
        now = time.time()
        data = event["data"] if kind == "endpoint" else event["event"]["data"]
        committed = datetime.fromisoformat(data["completed_at"].replace("Z", "+00:00"))
        with self.lock:
            if data["id"] in self.seen[kind]:
                self.duplicates += 1
                return
            self.seen[kind].add(data["id"])
            self.latencies[kind].append((now - committed.timestamp()) * 1000)


def serve(port_out: Any, results_out: Any, stop: Any) -> None:
    """The receivers, in a process of their own (no GIL shared with the load)."""
    arrivals = Arrivals()
    server = start_receiver(arrivals)
    port_out.put(server.server_address[1])
    stop.wait()
    server.shutdown()
    results_out.put((arrivals.latencies, {k: len(v) for k, v in arrivals.seen.items()},
                     arrivals.duplicates))  # fmt: skip


def start_receiver(arrivals: Arrivals) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            kind = "alert" if self.path.startswith("/alert") else "endpoint"
            arrivals.record(kind, json.loads(body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=50.0, help="cancellations per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=3, help="worker processes")
    parser.add_argument("--clients", type=int, default=4, help="threads cancelling")
    parser.add_argument("--pool", default="prefork", choices=["prefork", "threads"])
    parser.add_argument("--drain", type=float, default=30.0, help="max seconds to wait after")
    options = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DB
    if not database_url.startswith("postgres"):
        raise SystemExit("bench/alerts.py measures PostgreSQL: set DATABASE_URL=postgres://…")
    if database_url == DEFAULT_DB:
        ensure_database(database_url)
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ALLOW_PRIVATE_WEBHOOK_TARGETS": "true",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)

    import django

    django.setup()
    from django.core.management import call_command

    from alerts.models import Channel, RoutingRule, Team, WebhookEndpoint
    from surveys.services import (
        CustomerInput,
        SubscriptionInput,
        session_cancel,
        session_open,
    )
    from workspaces.services import workspace_create

    call_command("migrate", verbosity=0)
    context = multiprocessing.get_context("fork")
    port_queue, results_queue, stop = context.Queue(), context.Queue(), context.Event()
    receiver = context.Process(target=serve, args=(port_queue, results_queue, stop), daemon=True)
    receiver.start()
    base = f"http://127.0.0.1:{port_queue.get(timeout=10)}"
    run = str(int(time.time()))
    workspace = workspace_create(name=f"Bench alerts {run}", slug=f"bench-alerts-{run}")
    team = Team.objects.create(workspace=workspace, name="Success")
    Channel.objects.create(team=team, kind="webhook", target=f"{base}/alert")
    RoutingRule.objects.create(workspace=workspace, team=team, name="every cancellation")
    WebhookEndpoint.objects.create(workspace=workspace, url=f"{base}/hook")

    log = ROOT / "bench" / "out" / f"alerts-worker-{run}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=WARNING",
         f"--concurrency={options.concurrency}", f"--pool={options.pool}",
         "--without-gossip", "--without-mingle",
         "-n", f"bench-{run}@localhost"],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        from config.celery import app

        deadline = time.monotonic() + 30
        while not app.control.ping(destination=[f"bench-{run}@localhost"], timeout=0.5):
            if time.monotonic() > deadline or worker.poll() is not None:
                raise SystemExit(f"the worker did not start; see {log}")
        print(
            f"worker up ({options.pool}, concurrency {options.concurrency}); "
            f"cancelling at {options.rate:g}/s for {options.seconds:g} s…",
            file=sys.stderr,
        )
        interval = 1.0 / options.rate
        started = time.monotonic()
        made = 0
        behind = 0.0
        # A few threads complete the cancellations, so a slow one does not hold
        # back the schedule (as concurrent customers would not wait for each other).
        pool = ThreadPoolExecutor(max_workers=options.clients)

        def cancel_one(n: int) -> None:
            session = session_open(
                workspace=workspace,
                customer=CustomerInput(id=f"cus_{run}_{n}"),
                subscription=SubscriptionInput(id=f"sub_{run}_{n}", plan="Pro", mrr_cents=4900),
            ).session
            session_cancel(token=session.token)

        futures = []
        while time.monotonic() - started < options.seconds:
            due = started + made * interval
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            else:
                behind = max(behind, -wait)
            futures.append(pool.submit(cancel_one, made))
            made += 1
            if made % max(1, int(options.rate * 5)) == 0:
                print(f"  {made} cancelled", file=sys.stderr)
        for future in futures:
            future.result()
        pool.shutdown()
        elapsed = time.monotonic() - started
        # Wait until the worker has sent everything (or the drain time is up).
        from alerts.models import Delivery, DeliveryStatus

        expected = made * 2
        drain_start = time.monotonic()
        while time.monotonic() - drain_start < options.drain:
            done = Delivery.objects.filter(workspace=workspace, status=DeliveryStatus.SENT).count()
            if done >= expected:
                break
            time.sleep(0.2)
        total_elapsed = time.monotonic() - started
    finally:
        worker.terminate()
        worker.wait(20)
        stop.set()
    latencies, seen, duplicates = results_queue.get(timeout=20)
    receiver.join(10)
    delivered = seen["endpoint"] + seen["alert"]
    print(
        f"\n{made} cancellations in {elapsed:.1f} s = {made / elapsed:.1f}/s "
        f"(target {options.rate:g}/s; the generator fell behind by at most {behind * 1000:.0f} ms)"
    )
    print(f"{delivered} deliveries in {total_elapsed:.1f} s = {delivered / total_elapsed:.1f}/s")
    print(f"\n{'kind':12} {'received':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'lost':>6}")
    for kind, values in latencies.items():
        print(
            f"{kind:12} {len(values):9d} {percentile(values, 0.5):8.1f} "
            f"{percentile(values, 0.99):8.1f} {max(values or [float('nan')]):8.1f} "
            f"{made - seen[kind]:6d}"
        )
    print(f"duplicates: {duplicates}")
    both = [*latencies["endpoint"], *latencies["alert"]]
    if both:
        print(f"median over both kinds: {statistics.median(both):.1f} ms")


if __name__ == "__main__":
    main()
