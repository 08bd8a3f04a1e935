"""Time the upgrade of a large database across surveys 0005-0010, and how long an
answer written meanwhile waits.

WIPES the PostgreSQL database of DATABASE_URL (``--wipe`` is required), migrates
it, makes a workspace, goes back to surveys 0004, loads ``--rows`` sessions with
an answer each (half of them opened with an idempotency key) plus spare sessions,
then runs ``manage.py migrate`` while a writer adds an answer every 100 ms and
records how long each INSERT took. ``--project`` runs another checkout's
migrations (to compare with a version before them).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scratch \\
        python bench/migrations.py --wipe --rows 1000000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent


def manage(project: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=project,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout


def load(url: str, rows: int, spare: int) -> None:
    with psycopg.connect(url, autocommit=True) as db:
        workspace, survey = db.execute(
            "SELECT w.id, s.id FROM workspaces_workspace w JOIN surveys_survey s "
            "ON s.workspace_id = w.id WHERE w.slug = 'bench-migrations'"
        ).fetchone()
        reason, category = db.execute(
            "SELECT id, category_id FROM surveys_reason WHERE survey_id = %s ORDER BY id LIMIT 1",
            [survey],
        ).fetchone()
        db.execute(
            "INSERT INTO surveys_cancelsession (id, survey_version, token, token_expires_at, "
            "customer_id, customer_email, customer_name, subscription_id, plan, mrr_cents, "
            "currency, locale, return_url, metadata, source, status, outcome, idempotency_key, "
            "request_fingerprint, created_at, workspace_id, survey_id, accepted_terms) "
            "SELECT gen_random_uuid(), 1, 'tok' || i, now(), 'cus_' || i, '', '', 'sub_' || i, "
            "(ARRAY['', 'Pro', 'Team'])[i %% 3 + 1], 4900, 'USD', 'en', '', '{}', 'api', "
            "'completed', 'cancelled', CASE WHEN i %% 2 = 0 THEN 'key' || i ELSE '' END, '', "
            "now() - (i || ' seconds')::interval, %s, %s, '{}' "
            "FROM generate_series(1, %s) i",
            [workspace, survey, rows + spare],
        )
        db.execute(
            "INSERT INTO surveys_response (reason_code, reason_label, survey_version, text, "
            "locale, category_source, category_confidence, model_version, created_at, "
            "updated_at, category_id, reason_id, session_id, workspace_id, needs_review) "
            "SELECT 'too_expensive', 'Too expensive', 1, "
            "CASE WHEN row_number() OVER () %% 3 = 0 THEN 'too pricey for us' ELSE '' END, "
            "'en', 'choice', 1, '', now(), now(), %s, %s, s.id, %s, false "
            "FROM surveys_cancelsession s WHERE s.workspace_id = %s "
            "AND s.token NOT LIKE 'tokspare%%' LIMIT %s",
            [category, reason, workspace, workspace, rows],
        )
        db.execute(
            "UPDATE surveys_cancelsession SET token = 'tokspare' || token WHERE id NOT IN "
            "(SELECT session_id FROM surveys_response)"
        )
        db.execute("VACUUM ANALYZE surveys_cancelsession")
        db.execute("VACUUM ANALYZE surveys_response")


class Writer(threading.Thread):
    """Adds an answer to a spare session every 100 ms, with the columns the table
    has at that moment, and records each INSERT's duration."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.stop = threading.Event()
        self.latencies: list[float] = []
        self.errors: list[str] = []

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as db:
            spare = [
                r[0]
                for r in db.execute(
                    "SELECT id FROM surveys_cancelsession WHERE token LIKE 'tokspare%%'"
                )
            ]
            workspace, reason, category = db.execute(
                "SELECT workspace_id, reason_id, category_id FROM surveys_response LIMIT 1"
            ).fetchone()
            for session in spare:
                if self.stop.is_set():
                    return
                columns = {
                    r[0]
                    for r in db.execute(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_name = 'surveys_response'"
                    )
                }
                extra = ""
                if "session_created_at" in columns:
                    extra += ", session_created_at"
                if "plan" in columns:
                    extra += ", plan"
                values = {", session_created_at": ", now()", ", plan": ", ''"}
                sql = (
                    "INSERT INTO surveys_response (reason_code, reason_label, survey_version, "
                    "text, locale, category_source, category_confidence, model_version, "
                    "created_at, updated_at, category_id, reason_id, session_id, workspace_id, "
                    f"needs_review{extra}) VALUES ('too_expensive', 'Too expensive', 1, '', "
                    "'en', 'choice', 1, '', now(), now(), %s, %s, %s, %s, false"
                    + "".join(values[e] for e in values if e in extra)
                    + ")"
                )
                started = time.monotonic()
                try:
                    db.execute(sql, [category, reason, session, workspace])
                except psycopg.Error as error:
                    self.errors.append(str(error).splitlines()[0])
                self.latencies.append(time.monotonic() - started)
                time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--project", type=Path, default=ROOT)
    parser.add_argument("--wipe", action="store_true", help="required: the database is wiped")
    options = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres") or not options.wipe:
        sys.exit("Needs DATABASE_URL=postgres://… of a scratch database and --wipe.")
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("DROP SCHEMA public CASCADE")
        db.execute("CREATE SCHEMA public")
    project = options.project.resolve()
    manage(project, "migrate", "-v0")
    manage(
        project,
        "shell",
        "-c",
        "from workspaces.services import workspace_create; "
        "workspace_create(name='Bench', slug='bench-migrations')",
    )
    manage(project, "migrate", "surveys", "0004", "-v0")
    started = time.monotonic()
    load(url, options.rows, spare=20_000)
    print(f"loaded {options.rows:,} sessions with answers in {time.monotonic() - started:.0f} s")

    writer = Writer(url)
    writer.start()
    time.sleep(1)
    started = time.monotonic()
    out = manage(project, "migrate", "-v1")
    took = time.monotonic() - started
    time.sleep(1)
    writer.stop.set()
    writer.join()
    print(out.strip())
    waits = sorted(writer.latencies)
    print(f"\nmigrate: {took:.1f} s for {options.rows:,} answers ({project})")
    print(
        f"answers written meanwhile: {len(waits)}, slowest INSERT {waits[-1] * 1000:.0f} ms, "
        f"p99 {waits[int(len(waits) * 0.99)] * 1000:.0f} ms, "
        f"over 1 s: {sum(w > 1 for w in waits)}, refused: {len(writer.errors)}"
    )
    for error in sorted(set(writer.errors)):
        print(f"  refused: {error}")


if __name__ == "__main__":
    main()
