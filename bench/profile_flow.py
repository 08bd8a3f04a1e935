#!/usr/bin/env python
"""Profile the flow's endpoints in one process with pyinstrument, and count
their queries: where a request's time goes, without the HTTP server.

    .venv/bin/python bench/profile_flow.py [--requests 300] [--top 25] [--only answer]

Uses the same preparation as ``bench/flow.py`` (PostgreSQL: DATABASE_URL, or
the default postgres://postgres@127.0.0.1:5432/bench_flow), drives each endpoint
through Django's test client (all the middleware, no socket), and prints per
endpoint the mean time (and the CPU time of this process and of its PostgreSQL
backend, read from /proc: the server is local), the queries of one request, and pyinstrument's call
tree cut at ``--top`` lines (frames under 2% of the time hidden; ``--top 0``:
no profiler, only the timings and queries). Needs the dev dependency
``pyinstrument``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.flow import client_endpoints, in_process, prepare  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per endpoint")
    parser.add_argument("--top", type=int, default=40, help="lines of each call tree; 0: time only")
    parser.add_argument("--only", default="", help="profile only endpoints containing this")
    options = parser.parse_args()

    in_process("127.0.0.1,localhost,testserver")
    data = prepare(options.requests)

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from pyinstrument import Profiler

    client = Client()
    n = options.requests
    endpoints = client_endpoints(client, data, "prof")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()

    def backend_cpu() -> float:
        """CPU seconds of this connection's PostgreSQL backend (a local server)."""
        try:
            fields = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    for name, call in endpoints.items():
        if options.only and options.only not in name:
            continue
        with CaptureQueriesContext(connection) as seen:
            status = call(0).status_code
        queries = [q["sql"] for q in seen.captured_queries]
        profiler = Profiler(interval=0.0002)
        started = time.perf_counter()
        cpu_started = time.process_time()
        db_started = backend_cpu()
        if options.top:
            profiler.start()
        for i in range(1, n):
            call(i)
        if options.top:
            profiler.stop()
        elapsed = (time.perf_counter() - started) / max(n - 1, 1)
        cpu = (time.process_time() - cpu_started) / max(n - 1, 1)
        db_cpu = (backend_cpu() - db_started) / max(n - 1, 1)
        ms = elapsed * 1000
        print(
            f"\n=== {name}: HTTP {status}, {ms:.2f} ms/request ({cpu * 1000:.2f} ms CPU in "
            f"this process, {db_cpu * 1000:.2f} ms in its PostgreSQL backend), "
            f"{len(queries)} queries"
        )
        for sql in queries:
            print(f"  SQL {sql[:150]}")
        if not options.top:
            continue
        text = profiler.output_text(unicode=True, color=False, show_all=False)
        print("\n".join(text.splitlines()[: options.top]))


if __name__ == "__main__":
    main()
