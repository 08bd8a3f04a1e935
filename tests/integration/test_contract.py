"""The OpenAPI document is the contract: schemathesis against a live server on PostgreSQL.

A gunicorn server runs on the test database with a seeded demo workspace; schemathesis
reads ``/api/schema/`` and runs every operation through its four phases (examples,
coverage, fuzzing, stateful, following the document's links), seeded and bounded in
time, with the checks ``not_a_server_error``, ``response_schema_conformance``,
``status_code_conformance`` and ``content_type_conformance``. Any failure fails the
test with schemathesis's report; the full report is kept in ``test-results/``.

What schemathesis cannot find by itself (a session's id and token, an experiment's
variants, the survey's reason codes…) it is given as dictionaries mixed into half of
the generated values, so the operations behind an id reach their real work.

A longer run by hand: ``CONTRACT_MAX_TIME=600 pytest tests/integration/test_contract.py -s``.
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from alerts.models import DeliveryRoute, EventType, WebhookEndpoint, endpoint_key
from offers.models import Experiment, ExperimentVariant, Offer
from outbound.models import Delivery, DeliveryStatus, OutboxEvent
from surveys.models import CancelSession, Reason
from surveys.services import session_answer
from tests.factories import make_session
from tests.integration.conftest import ROOT, worker_env
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)

# The live server's environment, on top of the test database and Redis (worker_env).
# One place to extend when a setting would get in the fuzzer's way.
CONTRACT_SERVER_ENV = {
    # Throttling answers a fuzzer's burst with 429 (documented on every operation), which
    # would hide every other answer: the contract run switches it off.
    "THROTTLE_ENABLED": "false",
    "DEBUG": "false",
    "SECRET_KEY": "contract-test-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz",
}
CHECKS = [
    "not_a_server_error",
    "response_schema_conformance",
    "status_code_conformance",
    "content_type_conformance",
]
PHASES = ["examples", "coverage", "fuzzing", "stateful"]
SEED = int(os.environ.get("CONTRACT_SEED", "15"))
# Fuzzing and stateful testing repeat until this budget is spent (about 3 minutes in all).
MAX_TIME_SECONDS = int(os.environ.get("CONTRACT_MAX_TIME", "150"))
MAX_EXAMPLES = int(os.environ.get("CONTRACT_MAX_EXAMPLES", "50"))
RESULTS = ROOT / "test-results"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, timeout: float = 5.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@pytest.fixture
def gunicorn_server(transactional_db: None) -> Iterator[str]:
    """gunicorn on a free loopback port, on the test database; stopped after the test."""
    port = _free_port()
    RESULTS.mkdir(exist_ok=True)
    log_path = RESULTS / f"contract-server-{port}.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--timeout",
                "60",
                # gunicorn answers an over-long request line or header itself, in HTML,
                # before the application sees it; the contract is the application's.
                "--limit-request-line",
                "0",
                "--limit-request-field_size",
                "0",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=worker_env(**CONTRACT_SERVER_ENV),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                pytest.fail(f"the server exited early:\n{log_path.read_text(errors='replace')}")
            try:
                if _get(f"{url}/api/schema/") == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not answer:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
        # The server queued outbox tasks on the test broker: no later worker should get them.
        from config.celery import app

        app.control.purge()


def _seed() -> dict[str, Any]:
    """The demo workspace, an answered session (a free-text answer, alerts, deliveries)
    and a webhook endpoint; returns the API key and the ids schemathesis is given."""
    out = io.StringIO()
    call_command("seed_demo", "--json", stdout=out)
    demo = json.loads(out.getvalue())
    workspace = Workspace.objects.get(public_id=demo["workspace"])
    reasons = list(
        Reason.objects.filter(survey__workspace=workspace).values_list("code", flat=True)
    )
    answered = make_session(workspace, plan="Starter", mrr_cents=1900)
    session_answer(token=answered.token, reason_code="too_expensive", text="Far too expensive")
    endpoint = WebhookEndpoint.objects.create(
        workspace=workspace, url="https://hooks.example.com/contract"
    )
    # A dead delivery to retry (rows, as the sender leaves them: no worker runs here, so
    # a retry is only queued, and the queue is purged after the test).
    now = timezone.now()
    event = OutboxEvent.objects.create(
        workspace=workspace,
        subject_id=answered.pk,
        event_type=EventType.SESSION_COMPLETED,
        payload={},
        created_at=now,
        dispatched_at=now,
    )
    delivery = Delivery.objects.create(
        workspace=workspace,
        event=event,
        kind="endpoint",
        key=endpoint_key(endpoint.pk),
        status=DeliveryStatus.DEAD,
        attempts=4,
        last_error="HTTP 500",
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    DeliveryRoute.objects.create(delivery=delivery, endpoint=endpoint)
    sessions = CancelSession.objects.filter(workspace=workspace)
    experiments = Experiment.objects.filter(workspace=workspace)
    return {
        "api_key": demo["api_key"],
        "dictionaries": {
            "session_ids": [str(pk) for pk in sessions.values_list("pk", flat=True)],
            "tokens": list(sessions.values_list("token", flat=True)),
            "customer_ids": sorted(set(sessions.values_list("customer_id", flat=True))),
            "response_ids": list(
                sessions.filter(response__isnull=False).values_list("response__pk", flat=True)
            ),
            "experiment_ids": list(experiments.values_list("pk", flat=True)),
            "variant_ids": list(
                ExperimentVariant.objects.filter(experiment__in=experiments).values_list(
                    "pk", flat=True
                )
            ),
            "offer_ids": list(
                Offer.objects.filter(workspace=workspace).values_list("pk", flat=True)
            ),
            "endpoint_ids": list(
                WebhookEndpoint.objects.filter(workspace=workspace).values_list("pk", flat=True)
            ),
            "delivery_ids": list(
                Delivery.objects.filter(workspace=workspace).values_list("pk", flat=True)
            ),
            "reasons": reasons,
        },
    }


# Which dictionary feeds which parameter (half of the generated values come from it).
BINDINGS = {
    "path.session_id": "session_ids",
    "path.token": "tokens",
    "path.customer_id": "customer_ids",
    "path.response_id": "response_ids",
    "path.experiment_id": "experiment_ids",
    "path.endpoint_id": "endpoint_ids",
    "path.delivery_id": "delivery_ids",
    "body.reason": "reasons",
    "body.offer": "offer_ids",
    "body.winner": "variant_ids",
}


def _toml_value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return json.dumps(value)  # a JSON string or number is a TOML one


def _config(dictionaries: dict[str, list[Any]]) -> str:
    lines = []
    for name, values in dictionaries.items():
        if values:
            lines += [f"[dictionaries.{name}]", f"values = {_toml_value(values)}", ""]
    lines.append("[parameters]")
    for key, name in BINDINGS.items():
        if dictionaries.get(name):
            lines.append(f'"{key}" = {{ dictionary = "{name}", probability = 0.5 }}')
    return "\n".join(lines) + "\n"


def _report_figure(pattern: str, report: str) -> int:
    found = re.search(pattern, report)
    return int(found.group(1)) if found else -1


def test_the_api_answers_as_its_openapi_document_says(gunicorn_server: str, tmp_path: Path) -> None:
    seeded = _seed()
    config = tmp_path / "schemathesis.toml"
    config.write_text(_config(seeded["dictionaries"]))
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{gunicorn_server}/api/schema/",
        "--header",
        f"Authorization: Bearer {seeded['api_key']}",
        "--phases",
        ",".join(PHASES),
        "--checks",
        ",".join(CHECKS),
        "--seed",
        str(SEED),
        "--max-time",
        str(MAX_TIME_SECONDS),
        "--max-examples",
        str(MAX_EXAMPLES),
        # One worker: hypothesis's lambda descriptions call ast.parse, which CPython 3.11
        # can fail from two threads at once ("AST constructor recursion depth mismatch").
        "--workers",
        "1",
        "--request-timeout",
        "20",
        "--generation-database",
        "none",
        "--no-color",
    ]
    started = time.monotonic()
    run = subprocess.run(
        command,
        cwd=tmp_path,
        env=dict(os.environ, PYTHONIOENCODING="utf-8"),
        capture_output=True,
        text=True,
        timeout=MAX_TIME_SECONDS + 300,
        check=False,
    )
    elapsed = time.monotonic() - started
    report = run.stdout + run.stderr
    (RESULTS / "contract-report.txt").write_text(report)
    print(report[-6000:])
    print(f"schemathesis took {elapsed:.0f} s; full report in test-results/contract-report.txt")

    summary = report[report.rfind("SUMMARY") :] if "SUMMARY" in report else report[-3000:]
    assert run.returncode == 0, f"schemathesis found failures (exit {run.returncode}):\n{report}"
    selected = re.search(r"Selected: (\d+)/(\d+)", report)
    assert selected and selected.group(1) == selected.group(2), summary
    assert _report_figure(r"Tested: (\d+)", report) == int(selected.group(1)), summary
    assert _report_figure(r"(\d+) generated", report) > 1000, summary
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert re.search(rf"✅ {phase}", report), f"phase {phase} did not pass:\n{summary}"
