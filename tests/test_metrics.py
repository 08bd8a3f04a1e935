"""/metrics: behind METRICS_TOKEN, Prometheus text, names starting with
cancelflow_, and the counts of several processes added up (config/metrics.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from config import metrics
from outbound.models import DeliveryStatus
from surveys.services import session_answer, session_cancel
from tests.factories import make_session

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "metrics-test-token-0123456789"


@pytest.fixture(autouse=True)
def _single_process(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    settings.METRICS_TOKEN = TOKEN
    metrics.forget()


def scrape(client: Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    metrics.forget()
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        assert family.name.startswith("cancelflow_"), family.name
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_without_a_token_setting_it_is_not_there(client: Client, settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


@pytest.mark.parametrize(
    "header", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer"]
)
def test_without_the_token_it_is_401(client: Client, header: str | None) -> None:
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    response = client.get("/metrics", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"cancelflow_" not in response.content


@pytest.mark.django_db
def test_request_latency_by_route_name(client: Client) -> None:
    before = scrape(client)
    for _ in range(3):
        client.get("/livez")
    client.get("/api/v1/sessions")  # no key: 401, still timed under its route
    after = scrape(client)
    count = "cancelflow_http_request_duration_seconds_count"
    assert (
        value(after, count, route="livez", method="GET", status="200")
        - value(before, count, route="livez", method="GET", status="200")
        == 3
    )
    assert (
        value(after, count, route="api-sessions", method="GET", status="401")
        - value(before, count, route="api-sessions", method="GET", status="401")
        == 1
    )
    assert (
        value(
            after,
            "cancelflow_http_request_duration_seconds_bucket",
            route="livez",
            method="GET",
            status="200",
            le="+Inf",
        )
        >= 3
    )


@pytest.mark.django_db(transaction=True)
def test_outcomes_review_share_outbox_deliveries_and_tasks(
    client: Client, workspace, settings: Any
) -> None:
    from alerts.models import WebhookEndpoint

    # An endpoint nobody listens on: the delivery fails and waits for a retry.
    settings.ALLOW_PRIVATE_WEBHOOK_TARGETS = True
    WebhookEndpoint.objects.create(workspace=workspace, url="http://127.0.0.1:1/hook")
    before = scrape(client)
    answered = make_session(workspace)
    # Words no rule knows: the categoriser queues the answer for review.
    session_answer(token=answered.token, reason_code="other", text="zxqv wobble")
    session_cancel(token=answered.token)
    session_cancel(token=make_session(workspace).token)
    after = scrape(client)

    outcomes = "cancelflow_flow_outcomes_total"
    assert (
        value(after, outcomes, outcome="cancelled") - value(before, outcomes, outcome="cancelled")
        == 2
    )
    reviews = "cancelflow_categorizations_total"
    assert value(after, reviews, result="review") - value(before, reviews, result="review") == 1
    tasks = "cancelflow_task_duration_seconds_count"
    assert (
        value(after, tasks, task="alerts.tasks.outbox_dispatch", state="SUCCESS")
        - value(before, tasks, task="alerts.tasks.outbox_dispatch", state="SUCCESS")
        >= 2
    )
    # Read from the database when scraped.
    assert value(after, "cancelflow_outbox_pending") == 0
    retrying = value(after, "cancelflow_deliveries", status=DeliveryStatus.RETRY, kind="endpoint")
    assert retrying == 2
    assert ("cancelflow_outbox_oldest_pending_age_seconds", ()) in after


@pytest.mark.django_db
def test_processes_add_up_in_multiprocess_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, client: Client
) -> None:
    """Two processes (as two gunicorn workers or a web and a Celery worker would)
    write their counts to PROMETHEUS_MULTIPROC_DIR; /metrics adds them up, and
    a process marked dead keeps its counts."""
    script = (
        "import sys\n"
        "from config.metrics import FLOW_OUTCOMES, TASK_SECONDS, process_dead\n"
        "FLOW_OUTCOMES.labels('saved').inc(int(sys.argv[1]))\n"
        "TASK_SECONDS.labels('t', 'SUCCESS').observe(0.2)\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    for n in ("2", "3"):
        subprocess.run([sys.executable, "-c", script, n], env=env, check=True, timeout=60)
    assert len(list(tmp_path.glob("counter_*.db"))) == 2
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    metrics.forget()
    text = metrics.exposition().decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert value(samples, "cancelflow_flow_outcomes_total", outcome="saved") == 5
    assert value(samples, "cancelflow_task_duration_seconds_count", task="t", state="SUCCESS") == 2


def test_stale_files_of_dead_processes_are_removed(tmp_path: Path) -> None:
    alive = tmp_path / f"counter_{os.getpid()}.db"
    alive.write_bytes(b"")
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead = tmp_path / f"histogram_{done.stdout.strip()}.db"
    dead.write_bytes(b"")
    other = tmp_path / "notes.txt"
    other.write_text("kept")
    assert metrics.stale_files_remove(str(tmp_path)) == 1
    assert alive.exists() and other.exists() and not dead.exists()
