"""gunicorn as the Procfile runs it (config/gunicorn.py) with two workers in
multiprocess mode: /metrics counts the requests every worker served."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.test_logs import _free_port

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "gunicorn-metrics-token-0123456789"


def test_two_gunicorn_workers_add_up(tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    # A file left by a process long gone: removed when gunicorn starts.
    metrics_dir.mkdir()
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    stale = metrics_dir / f"counter_{done.stdout.strip()}.db"
    stale.write_bytes(b"")
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "METRICS_TOKEN": TOKEN,
    }
    env.pop("REDIS_URL", None)
    env.pop("CELERY_BROKER_URL", None)
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi:application",
         "-c", "config/gunicorn.py", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--log-level", "critical"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/livez", timeout=2)
                break
            except OSError:  # refused, reset or timed out while it starts
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        before = livez_count(base)
        for _ in range(20):
            urllib.request.urlopen(f"{base}/livez", timeout=60)
        after = livez_count(base)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert after - before == 20
    assert not stale.exists()


def livez_count(base: str) -> float:
    """/livez requests counted by all workers together (whichever one answers)."""
    request = urllib.request.Request(
        f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    text = urllib.request.urlopen(request, timeout=60).read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "cancelflow_http_request_duration_seconds_count"
        and sample.labels.get("route") == "livez"
    )
