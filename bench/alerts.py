#!/usr/bin/env python
"""Complete cancellations at a steady rate with a live Celery worker and measure
how fast their outcome webhooks and alerts reach real receivers on loopback.

    .venv/bin/python bench/alerts.py [--rate 50] [--seconds 20] [--concurrency 3] [--keep-alive]

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


def serve(port_out: Any, results_out: Any, stop: Any, keep_alive: bool = False) -> None:
    """The receivers, in a process of their own (no GIL shared with the load)."""
    arrivals = Arrivals()
    server = start_receiver(arrivals, keep_alive)
    port_out.put(server.server_address[1])
    stop.wait()
    server.shutdown()
    results_out.put((arrivals.latencies, {k: len(v) for k, v in arrivals.seen.items()},
                     arrivals.duplicates))  # fmt: skip


def start_receiver(arrivals: Arrivals, keep_alive: bool = False) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0 closes the connection after each answer: every delivery opens
        # a new one. --keep-alive answers in HTTP/1.1, as most receivers do.
        protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            kind = "alert" if self.path.startswith("/alert") else "endpoint"
            arrivals.record(kind, json.loads(body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        # The listen backlog of a real web server, not socketserver's 5: with a
        # few dozen deliveries sent at once the queue overflowed and the kernel
        # retried the connections after 1, 3, 7, 15 s, which measured the
        # receiver's backlog rather than the delivery machinery.
        request_queue_size = 1024

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _processes() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command name, CPU seconds so far), from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        found[int(entry.name)] = (int(fields[1]), name, (int(fields[11]) + int(fields[12])) / _TICK)
    return found


def _busy_seconds() -> tuple[float, float]:
    """CPU seconds used on the whole machine so far (all cores, neither idle nor
    waiting for I/O), and of those, stolen by the hypervisor."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / _TICK, values[7] / _TICK


def cpu_snapshot(groups: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of this process (the generator, its threads), of each
    named process with its descendants, of PostgreSQL and Redis, and of the whole
    machine (Linux only; empty elsewhere)."""
    if not Path("/proc/stat").exists():
        return {}
    procs = _processes()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in procs.items():
        children.setdefault(ppid, []).append(pid)

    def tree(pid: int) -> float:
        own = procs[pid][2] if pid in procs else 0.0
        return own + sum(tree(child) for child in children.get(pid, []))

    result = {"generator": procs[os.getpid()][2]}
    result.update({label: tree(pid) for label, pid in groups.items()})
    result["postgres"] = sum(p[2] for p in procs.values() if p[1].startswith("postgres"))
    result["redis"] = sum(p[2] for p in procs.values() if p[1].startswith("redis-server"))
    result["machine"], result["steal"] = _busy_seconds()
    # The rest, by process, to tell who else used the machine meanwhile.
    for pid, (_, name, seconds) in procs.items():
        result[f"{pid} {name}"] = seconds
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=50.0, help="cancellations per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=3, help="worker processes")
    parser.add_argument("--clients", type=int, default=4, help="threads cancelling")
    parser.add_argument("--pool", default="prefork", choices=["prefork", "threads"])
    parser.add_argument("--drain", type=float, default=30.0, help="max seconds to wait after")
    parser.add_argument(
        "--keep-alive", action="store_true", help="receivers keep connections open (HTTP/1.1)"
    )
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
        # One key sends thousands of requests: no throttling here.
        "THROTTLE_ENABLED": "false",
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
    receiver = context.Process(
        target=serve, args=(port_queue, results_queue, stop, options.keep_alive), daemon=True
    )
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
        processes = {"worker": worker.pid, "receiver": receiver.pid or 0}
        cpu_before = cpu_snapshot(processes)
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
        from outbound.models import Delivery, DeliveryStatus

        expected = made * 2
        drain_start = time.monotonic()
        while time.monotonic() - drain_start < options.drain:
            done = Delivery.objects.filter(workspace=workspace, status=DeliveryStatus.SENT).count()
            if done >= expected:
                break
            time.sleep(0.2)
        total_elapsed = time.monotonic() - started
        cpu_after = cpu_snapshot(processes)
        # Events expanded together share their dispatched_at.
        from django.db.models import Count

        from outbound.models import OutboxEvent

        batches = [
            row["n"]
            for row in OutboxEvent.objects.filter(workspace=workspace, dispatched_at__isnull=False)
            .values("dispatched_at")
            .annotate(n=Count("id"))
            .order_by()
        ]
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
    if batches:
        print(
            f"events expanded in {len(batches)} batches: mean {statistics.mean(batches):.1f}, "
            f"max {max(batches)} events"
        )
    both = [*latencies["endpoint"], *latencies["alert"]]
    if both:
        print(f"median over both kinds: {statistics.median(both):.1f} ms")
    if cpu_before and made:
        # Where the two cores went while the load ran and drained ("other" is
        # everything else on the machine: the kernel, other people's work).
        used = {k: cpu_after[k] - cpu_before[k] for k in cpu_before if k in cpu_after}
        named = ["generator", *processes, "postgres", "redis"]
        used["other"] = used["machine"] - used["steal"] - sum(used[k] for k in named)
        busiest = sorted(
            (
                k
                for k in used
                if k[0].isdigit() and not k.split()[1].startswith(("postgres", "redis"))
            ),
            key=lambda k: -used[k],
        )
        print(f"\nCPU over {total_elapsed:.1f} s ({os.cpu_count()} cores):")
        print(f"{'process':12} {'cpu s':>7} {'% of 1 core':>12} {'ms/cancel':>10}")
        for label in [*named, "steal", "other", "machine"]:
            seconds = used[label]
            print(
                f"{label:12} {seconds:7.2f} {100 * seconds / total_elapsed:12.0f} "
                f"{1000 * seconds / made:10.2f}"
            )
        print("busiest processes:", ", ".join(f"{k} {used[k]:.1f} s" for k in busiest[:6]))


if __name__ == "__main__":
    main()
