#!/usr/bin/env python
"""Soak under faults: customers cancel at a steady rate for minutes while a worker
is killed, Redis is restarted and the host's webhook receiver fails now and then.

    DATABASE_URL=postgres://… .venv/bin/python bench/soak.py [--minutes 10] [--rate 20]

What runs, all on loopback: gunicorn (the Procfile's web process, 2 workers), a
Celery worker (prefork, 2 processes), two Celery beat processes (only the leader
sends: config/beat.py), a Redis of the soak's own on ``--redis-port`` (broker and
cache; started and restarted here, so no one else's Redis is touched), and the
host's webhook receiver, which answers 500 to ``--fail-share`` of the requests.

Each cancellation is what a host and its customer do over HTTP: ``POST
/api/v1/sessions`` with the API key, then ``POST /api/v1/flow/{token}/cancel``.

Faults: every ``--kill-every`` seconds the worker's whole process group gets
SIGKILL and a new worker starts ``--restart-after`` seconds later; at
``--redis-restart-at`` seconds Redis is shut down without saving (every queued
task is lost) and started again ``--redis-down`` seconds later.

When the load ends it waits (at most ``--drain`` seconds) for the webhooks, then
prints: cancellations completed, webhooks that arrived for them (counted once by
``webhook-id``), duplicates (the same ``webhook-id`` answered 2xx more than
once), missing, whether the rollups equal a recount (analytics.rollups_rebuild),
the 5xx and connection errors the customers' requests saw, the rate achieved,
and what /readyz said along the way. Retries are spaced 2 s, 5 s, 10 s … (not
the production minutes) so the run drains within minutes; the sweeper runs
every 5 s. Prints figures; asserts nothing (exit status 1 if any target is
missed: 0 missing, 0 duplicates… see TARGETS).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import percentile  # noqa: E402

BIN = Path(sys.executable).parent


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- The host's webhook receiver (a process of its own) ------------------------------


def receive(port: int, fail_share: float, arrivals_file: str, ready: Any) -> None:
    random.seed(port)
    out = open(arrivals_file, "a", buffering=1)  # noqa: SIM115 - lives as long as the process
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if random.random() < fail_share:
                status = 500
            else:
                status = 200
                event = json.loads(body)
                with lock:
                    out.write(
                        f"{self.headers.get('webhook-id')} {event['type']} {event['data']['id']}\n"
                    )
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 1024
        daemon_threads = True

    server = Server(("127.0.0.1", port), Handler)
    ready.set()
    server.serve_forever()


# --- Processes ------------------------------------------------------------------------


class Service:
    """A child process in a process group of its own (killed as a whole)."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path) -> None:
        self.name, self.args, self.env = name, args, env
        self.log = logs / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        self.process = subprocess.Popen(
            self.args,
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def redis_start(port: int, logs: Path) -> None:
    subprocess.run(
        [
            "redis-server",
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--logfile",
            str(logs / "redis.log"),
            "--pidfile",
            str(logs / "redis.pid"),
            "--dir",
            str(logs),
        ],
        check=True,
    )
    for _ in range(50):
        if redis_up(port):
            return
        time.sleep(0.1)
    raise SystemExit(f"redis on {port} did not start; see {logs / 'redis.log'}")


def redis_up(port: int) -> bool:
    done = subprocess.run(
        ["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() == "PONG"


def redis_stop(port: int) -> None:
    subprocess.run(
        ["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True, check=False
    )
    for _ in range(50):
        if not redis_up(port):
            return
        time.sleep(0.1)


def http(
    method: str,
    url: str,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            raw = answer.read()
            return answer.status, json.loads(raw) if raw[:1] in (b"{", b"[") else raw
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw[:1] == b"{" else raw


# The issue's targets. Duplicates are reported, not a target: delivery is at least
# once (a worker killed after the receiver answered and before the row was marked
# sent sends again, with the same webhook-id, which receivers deduplicate on).
TARGETS = "0 missing, 0 customer-facing 5xx, rollups exact"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=20.0, help="cancellations per second")
    parser.add_argument("--clients", type=int, default=24, help="threads making requests")
    parser.add_argument("--fail-share", type=float, default=0.10)
    parser.add_argument("--kill-every", type=float, default=120.0, help="seconds")
    parser.add_argument("--restart-after", type=float, default=2.0, help="seconds")
    parser.add_argument(
        "--redis-restart-at",
        type=float,
        default=None,
        help="seconds into the run (default: half way)",
    )
    parser.add_argument("--redis-down", type=float, default=5.0, help="seconds")
    parser.add_argument("--drain", type=float, default=600.0, help="max seconds to wait after")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--web-port", type=int, default=8172)
    parser.add_argument("--receiver-port", type=int, default=8173)
    parser.add_argument("--redis-port", type=int, default=8174)
    parser.add_argument(
        "--broker-url", default="", help="another broker (amqp://…); Redis stays the cache"
    )
    options = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgres"):
        raise SystemExit("bench/soak.py runs on PostgreSQL: set DATABASE_URL=postgres://…")
    run = str(int(time.time()))
    logs = ROOT / "bench" / "out" / f"soak-{run}"
    logs.mkdir(parents=True, exist_ok=True)
    metrics_dir = tempfile.mkdtemp(prefix="soak-metrics-")
    metrics_token = f"soak-{run}"
    redis_url = f"redis://127.0.0.1:{options.redis_port}/0"
    base = f"http://127.0.0.1:{options.web_port}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": options.broker_url or redis_url,
        "CELERY_QUEUE": f"soak-{run}",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ALLOW_PRIVATE_WEBHOOK_TARGETS": "true",
        "THROTTLE_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
        "DELIVERY_RETRY_DELAYS": "2,5,10,20,40,80,160",
        "DELIVERY_SWEEP_INTERVAL_SECONDS": "5",
        "PROMETHEUS_MULTIPROC_DIR": metrics_dir,
        "METRICS_TOKEN": metrics_token,
        "PUBLIC_BASE_URL": base,
        "BEAT_LOCK_SECONDS": "15",
        "STATE_DIR": str(logs),
    }
    os.environ.update(env)
    redis_start(options.redis_port, logs)

    import django

    django.setup()
    from django.core.management import call_command

    from alerts.models import WebhookEndpoint
    from workspaces.services import api_key_issue, workspace_create

    call_command("migrate", verbosity=0)
    workspace = workspace_create(name=f"Soak {run}", slug=f"soak-{run}")
    api_key = api_key_issue(workspace=workspace, name="soak").raw_key
    WebhookEndpoint.objects.create(
        workspace=workspace,
        url=f"http://127.0.0.1:{options.receiver_port}/hook",
        events=["session.completed"],
    )
    from django.db import connections

    connections.close_all()

    arrivals_file = logs / "arrivals.txt"
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    receiver = context.Process(
        target=receive,
        args=(options.receiver_port, options.fail_share, str(arrivals_file), ready),
        daemon=True,
    )
    receiver.start()
    ready.wait(10)

    web = Service(
        "web",
        [
            str(BIN / "gunicorn"),
            "config.wsgi:application",
            "-c",
            "config/gunicorn.py",
            "--bind",
            f"127.0.0.1:{options.web_port}",
            "--workers",
            str(options.web_workers),
            "--threads",
            "4",
            "--log-level",
            "warning",
        ],
        env,
        logs,
    )
    worker = Service(
        "worker",
        [
            str(BIN / "celery"),
            "-A",
            "config",
            "worker",
            "--loglevel",
            "WARNING",
            "--concurrency",
            str(options.worker_concurrency),
            "-n",
            f"soak-{run}@%h",
            "--without-gossip",
            "--without-mingle",
        ],
        env,
        logs,
    )
    beats = [
        Service(
            f"beat{i}",
            [
                str(BIN / "celery"),
                "-A",
                "config",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(logs / f"beat{i}-schedule"),
            ],
            env,
            logs,
        )
        for i in (1, 2)
    ]
    services = [web, worker, *beats]
    for service in services:
        service.start()
    deadline = time.monotonic() + 60
    while True:
        try:
            if http("GET", f"{base}/livez", timeout=2)[0] == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"the web server did not start; see {web.log}")
        time.sleep(0.3)

    seconds = options.minutes * 60
    redis_restart_at = (
        options.redis_restart_at if options.redis_restart_at is not None else seconds / 2
    )
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    latencies: list[float] = []
    completed_ok: list[str] = []
    readyz: list[tuple[float, int, list[str]]] = []
    faults: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    auth = {"Authorization": f"Bearer {api_key}"}

    def cancel_one(n: int) -> None:
        started = time.perf_counter()
        try:
            status, body = http(
                "POST",
                f"{base}/api/v1/sessions",
                {
                    "customer": {"id": f"cus_{run}_{n}", "email": f"c{n}@example.com"},
                    "subscription": {
                        "id": f"sub_{run}_{n}",
                        "plan": "Pro",
                        "mrr_cents": 4900,
                        "currency": "USD",
                    },
                },
                auth,
            )
            with lock:
                statuses[f"open {status}"] += 1
            if status not in (200, 201):
                return
            status, body = http("POST", f"{base}/api/v1/flow/{body['token']}/cancel")
            with lock:
                statuses[f"cancel {status}"] += 1
                if status == 200:
                    completed_ok.append(str(body["state"].get("outcome", "")))
                    latencies.append(time.perf_counter() - started)
        except OSError as exc:
            with lock:
                errors[type(exc).__name__] += 1

    def watch() -> None:
        while not stop.wait(5):
            try:
                status, body = http("GET", f"{base}/readyz", timeout=5)
                failing = body.get("failing", []) if isinstance(body, dict) else []
                if status != 200 and not failing:
                    failing = [str(body)[:80]]
            except OSError as exc:
                status, failing = 0, [type(exc).__name__]
            readyz.append((time.monotonic() - started, status, failing))

    def inject() -> None:
        kill_at = options.kill_every
        redis_done = False
        while not stop.is_set():
            now = time.monotonic() - started
            if now >= seconds:
                return
            if not redis_done and now >= redis_restart_at:
                redis_done = True
                log(f"fault: Redis shut down (nosave) for {options.redis_down:g} s")
                faults.append(
                    f"{now:.0f}s Redis shut down without saving, {options.redis_down:g} s down"
                )
                redis_stop(options.redis_port)
                time.sleep(options.redis_down)
                redis_start(options.redis_port, logs)
                log("fault: Redis back")
            if worker.process is not None and worker.process.poll() is not None:
                # As a supervisor (systemd, Kubernetes) would: start it again.
                log(f"worker exited by itself ({worker.process.returncode}); restarting")
                faults.append(
                    f"{now:.0f}s the worker exited by itself (exit {worker.process.returncode}; "
                    f"see worker.log), restarted after {options.restart_after:g} s"
                )
                time.sleep(options.restart_after)
                worker.start()
            if now >= kill_at:
                kill_at += options.kill_every
                log("fault: worker SIGKILLed")
                faults.append(
                    f"{now:.0f}s worker SIGKILLed (process group), "
                    f"restarted after {options.restart_after:g} s"
                )
                worker.kill(signal.SIGKILL)
                time.sleep(options.restart_after)
                worker.start()
            time.sleep(0.2)

    log(f"cancelling at {options.rate:g}/s for {seconds:g} s (logs in {logs})")
    started = time.monotonic()
    threading.Thread(target=watch, daemon=True).start()
    injector = threading.Thread(target=inject, daemon=True)
    injector.start()
    pool = ThreadPoolExecutor(max_workers=options.clients)
    made, behind = 0, 0.0
    interval = 1.0 / options.rate
    pending: list[Any] = []
    while time.monotonic() - started < seconds:
        due = started + made * interval
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        else:
            behind = max(behind, -wait)
        pending.append(pool.submit(cancel_one, made))
        made += 1
        pending = [f for f in pending if not f.done()]
        if made % int(options.rate * 30) == 0:
            log(f"{made} cancellations started, {len(pending)} in progress")
    pool.shutdown(wait=True)
    elapsed = time.monotonic() - started
    injector.join(30)
    log(f"load done: {made} in {elapsed:.0f} s; draining (at most {options.drain:g} s)")

    from django.db.models import Q

    from analytics.services import rollups_rebuild
    from outbound.models import Delivery, DeliveryStatus, OutboxEvent
    from surveys.models import CancelSession, SessionStatus

    def arrivals() -> list[tuple[str, str, str]]:
        if not arrivals_file.exists():
            return []
        return [tuple(line.split()) for line in arrivals_file.read_text().splitlines() if line]  # type: ignore[misc]

    completed_ids = set(
        str(pk)
        for pk in CancelSession.objects.filter(
            workspace=workspace, status=SessionStatus.COMPLETED
        ).values_list("pk", flat=True)
    )
    drain_started = time.monotonic()
    while time.monotonic() - drain_started < options.drain:
        got = {a[2] for a in arrivals() if a[1] == "session.completed"}
        if completed_ids <= got:
            break
        time.sleep(2)
    drained = time.monotonic() - drain_started
    stop.set()

    scraped = b""
    try:
        request = urllib.request.Request(
            f"{base}/metrics", headers={"Authorization": f"Bearer {metrics_token}"}
        )
        scraped = urllib.request.urlopen(request, timeout=10).read()
    except OSError as exc:
        log(f"/metrics: {exc}")
    for service in services:
        service.kill(signal.SIGTERM)
    receiver.kill()
    redis_stop(options.redis_port)

    seen = arrivals()
    by_webhook: Counter[str] = Counter(a[0] for a in seen)
    sessions_arrived = {a[2] for a in seen if a[1] == "session.completed"}
    duplicates = sum(n - 1 for n in by_webhook.values() if n > 1)
    missing = completed_ids - sessions_arrived
    stray = sessions_arrived - completed_ids
    report = rollups_rebuild(workspace=workspace, apply=False)
    five_xx = sum(n for key, n in statuses.items() if key.split()[1].startswith("5"))
    waiting = (
        Delivery.objects.filter(workspace=workspace)
        .exclude(status=DeliveryStatus.SENT)
        .values_list("status")
        .order_by()
    )
    undispatched = OutboxEvent.objects.filter(
        Q(workspace=workspace), dispatched_at__isnull=True
    ).count()
    # Which beat led when, from their own lines: never two at once.
    leadership = sorted(
        (
            json.loads(line)["time"][11:19],
            service.name,
            json.loads(line)["message"].split(": ", 1)[-1][:40],
        )
        for service in beats
        for line in service.log.read_text(errors="replace").splitlines()
        if line.startswith("{") and '"config.beat"' in line
    )

    print(
        f"\nsoak {run}: {options.minutes:g} min at {options.rate:g}/s target, "
        f"{options.fail_share:.0%} receiver failures"
    )
    print(
        f"cancellations started:     {made} in {elapsed:.0f} s = {made / elapsed:.1f}/s "
        f"(the generator fell behind by at most {behind:.1f} s)"
    )
    print(
        f"completed (HTTP 200):      {len(completed_ok)}; completed in the database: "
        f"{len(completed_ids)}"
    )
    if latencies:
        print(
            f"open+cancel latency:       p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms, max "
            f"{max(latencies) * 1000:.0f} ms"
        )
    print(
        f"webhooks arrived:          {len(sessions_arrived & completed_ids)} of "
        f"{len(completed_ids)} completed sessions (by webhook-id: {len(by_webhook)})"
    )
    print(f"duplicates:                {duplicates}")
    print(f"missing:                   {len(missing)} (drained for {drained:.0f} s)")
    if stray:
        print(f"arrived for no completed session: {len(stray)}")
    print(
        f"rollups equal a recount:   {report.ok} ({report.keys_checked} keys, "
        f"{report.sessions_counted} sessions, {len(report.differences)} differences)"
    )
    print(f"customer-facing 5xx:       {five_xx}; connection errors: {dict(errors) or 0}")
    print(f"answers:                   {dict(sorted(statuses.items()))}")
    print(
        f"deliveries not sent:       {dict(Counter(s for (s,) in waiting)) or 0}; "
        f"undispatched events: {undispatched}"
    )
    print(f"worker starts:             {worker.starts}")
    print("beat leadership:           " + "; ".join(" ".join(e) for e in leadership))
    print("faults:")
    for fault in faults:
        print(f"  {fault}")
    not_ready = [r for r in readyz if r[1] != 200]
    print(f"/readyz: {len(readyz)} probes, {len(not_ready)} not ready:")
    for at, status, failing in not_ready:
        print(f"  {at:5.0f}s {status} {','.join(failing)}")
    for line in scraped.decode().splitlines():
        if line.startswith(
            (
                "cancelflow_flow_outcomes_total",
                "cancelflow_deliveries{",
                "cancelflow_outbox_pending",
            )
        ):
            print(f"  {line}")
    shutil.rmtree(metrics_dir, ignore_errors=True)
    ok = not missing and not five_xx and report.ok
    print(f"targets ({TARGETS}): {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
