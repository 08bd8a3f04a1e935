#!/usr/bin/env python
"""Analytics at scale: every dashboard read from rollups against the same figures
recounted from raw sessions, and what keeping rollups current costs the flow.

    .venv/bin/python bench/analytics.py --sessions 1000000
    .venv/bin/python bench/analytics.py --sessions 10000000
    flock /tmp/bench.lock .venv/bin/python bench/analytics.py …   (on a shared machine)

Options: ``--days 180`` (history length), ``--repeat 30`` (API calls per
measurement), ``--raw-repeat 3`` (raw recounts per measurement), ``--flow-seconds
6 --flow-rounds 6 --flow-clients 2`` (the write-path comparison), ``--reload``
(load again even if the database already holds that many sessions),
``--skip-raw``, ``--skip-flow``.

Steps:

1. Load N sessions (with their answers) into its own PostgreSQL database
   (``--database-url``, default postgres://postgres@127.0.0.1:5432/bench_analytics,
   created if missing, dropped and re-created when loading; ``DATABASE_URL`` is
   deliberately ignored). Workspaces, surveys, reasons, offers and targeting rules
   are made through the services; sessions and responses go in through COPY, with
   the two tables' indexes and constraints dropped during the COPY and rebuilt
   after. One workspace (``bench``, America/New_York) holds 96% of the sessions,
   two small ones the rest. The rollups are then built the way an operator does,
   ``rollups_rebuild`` per workspace (what ``manage.py rebuild_rollups`` runs),
   then ``rollups_compact`` (what beat runs daily: it summarises settled days into
   weeks, months and coarser grains), both timed. A later run with the same
   ``--sessions`` reuses the loaded database (``--rebuild`` builds rollups again).
2. For each dashboard API call (funnel, reasons, trends, offers, breakdown,
   verbatims; 30 to 180 days; with and without filters): p50/p95 of the real API
   through Django's test client with a Bearer key (routing, authentication, DRF
   and JSON rendering included; the process's heap settled first, as the web
   server's is, see ``config/runtime.py``), then the time to work the same
   figures out from raw sessions (the selectors with ``source="raw"``: SQL
   aggregates over ``CancelSession`` joined to ``Response``), the ratio, and
   whether the two agree (a MISMATCH is printed loudly). The dashboard page's other reads
   (``filter_choices``, ``alert_counts``) and the pages themselves are timed too.
3. The flow's write path (open -> answer -> accept or cancel, through
   ``surveys.services``) in ``--flow-clients`` processes, in alternating rounds
   with rollup upkeep on and off (off = analytics' rollup subscriber unsubscribed
   from the session events, in this process only), in a workspace of its own whose rollups are
   rebuilt afterwards.

Prints figures and whether the targets are met (every dashboard API call at most
50 ms p95; upkeep costs the flow at most 15% of its throughput); asserts nothing.
Redis for the queued side effects of the flow: BENCH_REDIS_URL, default
redis://127.0.0.1:6379/14 (emptied at the end).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import secrets
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import ensure_database, percentile  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench_analytics"
BENCH_REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
API_TARGET_MS = 50.0
UPKEEP_TARGET = 0.15
MARKER = "bench_analytics_load"

# Workspaces: slug, name, time zone, share of the sessions.
WORKSPACES = (
    ("bench", "Bench Analytics", "America/New_York", 0.96),
    ("bench-small-utc", "Small UTC", "UTC", 0.02),
    ("bench-small-tea", "Small Tea", "Asia/Shanghai", 0.02),
)
FLOW_WORKSPACE = ("bench-flow", "Bench Flow", "America/New_York")
# Plan: weight, monthly prices in cents.
PLANS = {
    "Starter": (40, (900, 1200, 1500)),
    "Pro": (35, (2900, 3900, 4900)),
    "Team": (18, (9900, 14900, 19900)),
    "Enterprise": (7, (49900, 99900)),
}
LOCALES = (("en", 72), ("zh-hans", 16), ("", 12))  # "" = not given: the default
REASON_WEIGHTS = {
    "too_expensive": 30,
    "not_using": 20,
    "switching": 12,
    "missing_feature": 11,
    "quality": 7,
    "too_complex": 6,
    "support": 4,
    "values": 2,
    "other": 8,
}
# "other" answers are categorised from their words: category, source, weight.
OTHER_CATEGORIES = (
    ("other", "none", 45),
    ("price", "rule", 15),
    ("competitor", "rule", 10),
    ("not_needed", "model", 15),
    ("product_quality", "model", 10),
    ("values", "model", 5),
)
WORDS = {
    "en": {
        "price": ["too pricey for us", "the price went up again", "budget cuts this quarter"],
        "not_needed": ["project finished", "busy season, back later", "we do not use it enough"],
        "competitor": ["moving to a cheaper tool", "our company picked another vendor"],
        "missing_features": ["no API for exports", "needs SSO", "missing a calendar view"],
        "product_quality": ["too many bugs lately", "sync keeps failing", "slow on mobile"],
        "too_complex": ["hard to set up", "my team found it confusing"],
        "customer_service": ["nobody answered my ticket", "support was slow"],
        "values": ["privacy concerns", "do not like the new terms"],
        "other": ["just because", "personal reasons", "closing the business", "n/a"],
    },
    "zh-hans": {
        "price": ["太贵了", "预算削减", "涨价了"],
        "not_needed": ["项目结束了", "最近不用"],
        "competitor": ["换成了别的工具", "公司选了其他产品"],
        "missing_features": ["没有导出接口", "缺少日历视图"],
        "product_quality": ["问题太多", "同步总是失败"],
        "too_complex": ["设置太复杂"],
        "customer_service": ["客服回复太慢"],
        "values": ["隐私问题"],
        "other": ["个人原因", "公司关闭"],
    },
}
SUFFIXES = ("", "", "", " this year", " for our team", ", sorry", " right now", "!")
SURVEY_DEFAULT_SHARE = 0.85


# --- Command line and database ------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--repeat", type=int, default=30, help="API calls per measurement")
    parser.add_argument("--raw-repeat", type=int, default=3, help="raw recounts per measurement")
    parser.add_argument("--flow-seconds", type=float, default=6.0, help="seconds per flow round")
    parser.add_argument("--flow-rounds", type=int, default=6, help="rounds per mode (on, off)")
    parser.add_argument("--flow-clients", type=int, default=2, help="flow processes")
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--reload", action="store_true", help="load even if already loaded")
    parser.add_argument(
        "--rebuild", action="store_true", help="reusing a load: empty the rollups, build again"
    )
    parser.add_argument("--skip-raw", action="store_true", help="no raw recounts")
    parser.add_argument("--skip-flow", action="store_true", help="no write-path comparison")
    return parser.parse_args()


def loaded_state(url: str) -> dict[str, Any] | None:
    """What an earlier run loaded into the database (None if nothing complete)."""
    import psycopg

    try:
        with psycopg.connect(url) as conn:
            row = conn.execute(f"SELECT to_regclass('{MARKER}') IS NOT NULL").fetchone()
            if not row or not row[0]:
                return None
            found = conn.execute(f"SELECT facts FROM {MARKER}").fetchone()
            return dict(found[0]) if found else None
    except psycopg.OperationalError:
        return None


def recreate_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    ensure_database(url)


# --- The domain, made through the services --------------------------------------------


@dataclass
class Domain:
    workspaces: list[Any]
    # workspace id -> survey id -> reason code -> (reason id, {locale: label}, category)
    reasons: dict[int, dict[int, dict[str, tuple[int, dict[str, str], str]]]]
    # workspace id -> [default survey id, legacy survey id or None]
    surveys: dict[int, tuple[int, int | None]]
    # workspace id -> category -> (offer id, accepted terms as JSON text)
    offers: dict[int, dict[str, tuple[int, str]]]
    flow_workspace: Any = None
    extras: dict[str, Any] = field(default_factory=dict)


OFFER_SPECS = (
    # name, kind, terms, categories
    ("30% off for 3 months", "discount_percent", {"percent": 30, "months": 3}, ["price"]),
    ("Pause up to 3 months", "pause", {"max_months": 3}, ["not_needed"]),
    (
        "$10 off for 6 months",
        "discount_amount",
        {"amount_cents": 1000, "months": 6},
        ["competitor"],
    ),
    ("Talk to our team", "support", {}, ["missing_features", "too_complex", "customer_service"]),
)
OFFER_COPY = {
    "en": {"title": "Before you go", "body": "Something for you."},
    "zh-hans": {"title": "请留步", "body": "送您一份心意。"},
}


def make_workspace_setup(slug: str, name: str, time_zone: str, legacy_survey: bool) -> Any:
    from offers.services import offer_create
    from surveys.models import Survey
    from surveys.services import survey_create_default
    from workspaces.services import workspace_create

    workspace = workspace_create(name=name, slug=slug, time_zone=time_zone)
    if legacy_survey:
        # A second survey: the first default is kept under another name, as when
        # a team starts a new survey and the old one still has sessions.
        Survey.objects.filter(workspace=workspace, is_default=True).update(
            is_default=False, name="Legacy exit survey"
        )
        survey_create_default(workspace=workspace)
    for offer_name, kind, terms, categories in OFFER_SPECS:
        offer_create(
            workspace=workspace,
            name=offer_name,
            kind=kind,
            terms=terms,
            copy=OFFER_COPY,
            categories=categories,
        )
    return workspace


def domain_of(workspaces: list[Any], flow_workspace: Any) -> Domain:
    from offers.models import Offer, OfferRule
    from surveys.models import Reason, Survey

    reasons: dict[int, dict[int, dict[str, tuple[int, dict[str, str], str]]]] = {}
    surveys: dict[int, tuple[int, int | None]] = {}
    offers: dict[int, dict[str, tuple[int, str]]] = {}
    for workspace in workspaces:
        ws_surveys = list(Survey.objects.filter(workspace=workspace).order_by("-is_default", "pk"))
        surveys[workspace.pk] = (
            ws_surveys[0].pk,
            ws_surveys[1].pk if len(ws_surveys) > 1 else None,
        )
        reasons[workspace.pk] = {}
        for survey in ws_surveys:
            reasons[workspace.pk][survey.pk] = {
                r.code: (r.pk, r.label, r.category_id) for r in Reason.objects.filter(survey=survey)
            }
        offers[workspace.pk] = {}
        by_id = {o.pk: o for o in Offer.objects.filter(workspace=workspace)}
        for rule in OfferRule.objects.filter(workspace=workspace, offer__isnull=False):
            offer = by_id[rule.offer_id]
            terms = {"kind": offer.kind, **offer.terms}
            if offer.kind == "pause":
                terms["months"] = 2
            for category in rule.categories:
                offers[workspace.pk][category] = (offer.pk, json.dumps(terms))
    return Domain(
        workspaces=workspaces,
        reasons=reasons,
        surveys=surveys,
        offers=offers,
        flow_workspace=flow_workspace,
    )


def setup_domain(days: int) -> tuple[list[Any], Any]:
    from analytics.selectors import workspace_today
    from analytics.services import SubscriberCountInput, subscriber_counts_record

    workspaces = [
        make_workspace_setup(slug, name, tz, legacy_survey=(slug == "bench"))
        for slug, name, tz, _share in WORKSPACES
    ]
    flow = make_workspace_setup(*FLOW_WORKSPACE, legacy_survey=False)
    # The host's subscriber counts, so the headline's churn figures are worked out.
    bench = workspaces[0]
    today = workspace_today(bench)
    rng = random.Random(7)
    active = 400_000
    counts = []
    for back in range(days + 2, -1, -1):
        new = rng.randint(900, 1300)
        active += new - rng.randint(800, 1250)
        counts.append(
            SubscriberCountInput(date=today - timedelta(days=back), active=active, new=new)
        )
    subscriber_counts_record(workspace=bench, counts=counts)
    return workspaces, flow


# --- Generating sessions ------------------------------------------------------------------

SESSION_COLUMNS = (
    "id, workspace_id, survey_id, survey_version, token, token_expires_at, customer_id, "
    "customer_email, customer_name, subscription_id, plan, mrr_cents, currency, "
    "subscription_started_at, current_period_end, locale, return_url, metadata, source, "
    "status, outcome, offer_id, experiment_variant_id, accepted_terms, idempotency_key, "
    "request_fingerprint, created_at, answered_at, offered_at, completed_at"
)
RESPONSE_COLUMNS = (
    "id, session_id, workspace_id, reason_id, reason_code, reason_label, survey_version, "
    "text, locale, category_id, category_source, category_confidence, model_version, "
    "needs_review, created_at, updated_at, session_created_at, plan"
)
NULL = "\\N"


def _ts(moment: datetime) -> str:
    return moment.isoformat(sep=" ")


def day_counts(total: int, days: int, rng: random.Random) -> list[int]:
    """Sessions per day, oldest first: weekly rhythm, slow growth, noise."""
    weights = []
    for i in range(days):
        weekday = i % 7
        weekly = (1.15, 1.1, 1.05, 1.0, 0.95, 0.7, 0.65)[weekday]
        growth = 0.8 + 0.4 * i / max(days - 1, 1)
        weights.append(weekly * growth * rng.uniform(0.9, 1.1))
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    counts[-1] += total - sum(counts)
    return counts


class Generator:
    """Sessions and answers as COPY text lines, one day of one workspace at a time."""

    def __init__(self, domain: Domain, days: int, seed: int) -> None:
        self.domain = domain
        self.days = days
        self.rng = random.Random(seed)
        self.response_id = 0
        self.serial = 0
        self.plan_names = list(PLANS)
        self.plan_cum = _cumulative([w for w, _p in PLANS.values()])
        self.locale_names = [code for code, _w in LOCALES]
        self.locale_cum = _cumulative([w for _c, w in LOCALES])
        self.reason_names = list(REASON_WEIGHTS)
        self.reason_cum = _cumulative(list(REASON_WEIGHTS.values()))
        self.other_cum = _cumulative([w for _c, _s, w in OTHER_CATEGORIES])

    def plan(self) -> tuple[str, int]:
        name = self.rng.choices(self.plan_names, cum_weights=self.plan_cum)[0]
        return name, self.rng.choice(PLANS[name][1])

    def day_lines(
        self, workspace: Any, day: date, count: int, days_ago: int
    ) -> tuple[list[str], list[str]]:
        rng = self.rng
        zone = ZoneInfo(workspace.time_zone)
        midnight = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
        default_survey, legacy_survey = self.domain.surveys[workspace.pk]
        reasons_by_survey = self.domain.reasons[workspace.pk]
        offers = self.domain.offers[workspace.pk]
        default_locale = workspace.default_locale
        seconds = sorted(rng.randrange(86_400) for _ in range(count))
        sessions: list[str] = []
        responses: list[str] = []
        for second in seconds:
            self.serial += 1
            n = self.serial
            created = midnight + timedelta(seconds=second, microseconds=rng.randrange(1_000_000))
            survey_id = (
                default_survey
                if legacy_survey is None or rng.random() < SURVEY_DEFAULT_SHARE
                else legacy_survey
            )
            plan, mrr = self.plan()
            locale = rng.choices(self.locale_names, cum_weights=self.locale_cum)[0]
            answer_locale = locale or default_locale
            session_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            answered = rng.random() < 0.88
            open_chance = 0.3 if days_ago == 0 else (0.05 if days_ago == 1 else 0.0)
            still_open = rng.random() < open_chance
            answered_at = created + timedelta(seconds=rng.randint(5, 90))
            offer_id: int | None = None
            terms = "{}"
            if answered:
                code = rng.choices(self.reason_names, cum_weights=self.reason_cum)[0]
                reason_id, labels, category = reasons_by_survey[survey_id][code]
                source, confidence, review = "choice", 1.0, False
                if code == "other":
                    category, source, _w = rng.choices(
                        OTHER_CATEGORIES, cum_weights=self.other_cum
                    )[0]
                    confidence = 1.0 if source == "rule" else round(rng.uniform(0.3, 0.95), 3)
                    review = source == "none"
                has_text = rng.random() < (0.9 if code == "other" else 0.3)
                text = ""
                if has_text:
                    words = WORDS[answer_locale].get(category) or WORDS[answer_locale]["other"]
                    text = rng.choice(words) + rng.choice(SUFFIXES)
                if category in offers and rng.random() < 0.92:
                    offer_id, terms = offers[category]
                self.response_id += 1
                label = labels.get(answer_locale) or labels.get("en") or code
                responses.append(
                    "\t".join(
                        (
                            str(self.response_id),
                            session_id,
                            str(workspace.pk),
                            str(reason_id),
                            code,
                            label,
                            "1",
                            text,
                            answer_locale,
                            category,
                            source,
                            str(confidence),
                            "",
                            "t" if review else "f",
                            _ts(answered_at),
                            _ts(answered_at),
                            _ts(created),
                            plan,
                        )
                    )
                )
            if still_open:
                status = "offered" if offer_id else ("answered" if answered else "started")
                outcome = ""
            else:
                draw = rng.random()
                if offer_id:
                    outcome = (
                        "saved" if draw < 0.3 else ("cancelled" if draw < 0.9 else "abandoned")
                    )
                elif answered:
                    outcome = "cancelled" if draw < 0.87 else "abandoned"
                else:
                    outcome = "cancelled" if draw < 0.35 else "abandoned"
                status = "abandoned" if outcome == "abandoned" else "completed"
            completed_at = NULL
            if outcome == "abandoned":
                completed_at = _ts(created + timedelta(hours=24, seconds=rng.randint(0, 900)))
            elif outcome:
                completed_at = _ts(answered_at + timedelta(seconds=rng.randint(5, 300)))
            answered_text = _ts(answered_at) if answered else NULL
            sessions.append(
                "\t".join(
                    (
                        session_id,
                        str(workspace.pk),
                        str(survey_id),
                        "1",
                        secrets.token_urlsafe(32),
                        _ts(created + timedelta(hours=24)),
                        f"cus_{n:09d}",
                        f"c{n}@example.com",
                        "",
                        f"sub_{n:09d}",
                        plan,
                        str(mrr),
                        "USD",
                        _ts(created - timedelta(days=rng.randint(20, 1500))),
                        NULL,
                        locale,
                        "",
                        "{}",
                        "api",
                        status,
                        outcome,
                        str(offer_id) if offer_id else NULL,
                        NULL,
                        terms if outcome == "saved" else "{}",
                        "",
                        "",
                        _ts(created),
                        answered_text,
                        answered_text if offer_id else NULL,
                        completed_at,
                    )
                )
            )
        return sessions, responses


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


# --- Loading through COPY ---------------------------------------------------------------

LOADED_TABLES = ("surveys_cancelsession", "surveys_response")


def _dependent_objects(cursor: Any) -> tuple[list[tuple[str, str, str]], list[str]]:
    """Constraints (table, name, definition) on or pointing at the loaded tables,
    foreign keys first, and the definitions of their other indexes."""
    tables = list(LOADED_TABLES)
    cursor.execute(
        """
        SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.contype
        FROM pg_constraint c
        WHERE (c.conrelid::regclass::text = ANY(%s) AND c.contype IN ('p', 'u', 'f'))
           OR (c.confrelid::regclass::text = ANY(%s) AND c.contype = 'f')
        ORDER BY c.contype = 'f' DESC, c.conname
        """,
        [tables, tables],
    )
    constraints = [(t, n, d) for t, n, d, _k in cursor.fetchall()]
    cursor.execute(
        """
        SELECT indexdef FROM pg_indexes i
        WHERE i.tablename = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
        ORDER BY i.indexname
        """,
        [tables],
    )
    indexes = [row[0] for row in cursor.fetchall()]
    return constraints, indexes


def load_sessions(
    url: str, domain: Domain, sessions: int, days: int, seed: int
) -> dict[str, float]:
    """COPY the sessions and answers in, with the tables' indexes and constraints
    dropped meanwhile and rebuilt after (the usual bulk-load recipe)."""
    import psycopg
    from tqdm import tqdm

    from analytics.selectors import workspace_today

    timings: dict[str, float] = {}
    generator = Generator(domain, days, seed)
    with psycopg.connect(url, autocommit=True) as admin:
        cursor = admin.cursor()
        constraints, indexes = _dependent_objects(cursor)
        for table, name, _definition in constraints:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for definition in indexes:
            name = definition.split(" INDEX ", 1)[1].split(" ON ", 1)[0]
            cursor.execute(f"DROP INDEX {name}")

    started = time.perf_counter()
    sessions_conn = psycopg.connect(url)
    responses_conn = psycopg.connect(url)
    try:
        for conn in (sessions_conn, responses_conn):
            conn.execute("SET synchronous_commit = off")
        with (
            sessions_conn.cursor().copy(
                f"COPY surveys_cancelsession ({SESSION_COLUMNS}) FROM STDIN"
            ) as session_copy,
            responses_conn.cursor().copy(
                f"COPY surveys_response ({RESPONSE_COLUMNS}) FROM STDIN"
            ) as response_copy,
            tqdm(total=sessions, unit="session", desc="COPY sessions", unit_scale=True) as bar,
        ):
            plan: list[tuple[Any, list[int]]] = []
            for workspace, (_slug, _name, _tz, share) in zip(
                domain.workspaces, WORKSPACES, strict=True
            ):
                plan.append((workspace, day_counts(int(sessions * share), days, generator.rng)))
            plan[0][1][-1] += sessions - sum(sum(c) for _w, c in plan)
            for back in range(days - 1, -1, -1):
                for workspace, counts in plan:
                    today = workspace_today(workspace)
                    count = counts[days - 1 - back]
                    if not count:
                        continue
                    lines, answers = generator.day_lines(
                        workspace, today - timedelta(days=back), count, back
                    )
                    session_copy.write("\n".join(lines) + "\n")
                    if answers:
                        response_copy.write("\n".join(answers) + "\n")
                    bar.update(count)
        sessions_conn.commit()
        responses_conn.commit()
    finally:
        sessions_conn.close()
        responses_conn.close()
    timings["copy_seconds"] = time.perf_counter() - started
    timings["responses"] = generator.response_id

    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as admin:
        cursor = admin.cursor()
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('surveys_response', 'id'), %s)",
            [max(generator.response_id, 1)],
        )
        todo = [("index", d, "") for d in indexes] + [
            ("constraint", t, f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}')
            for t, n, d in reversed(constraints)
        ]
        for kind, what, sql in tqdm(todo, desc="rebuild indexes and constraints", unit="step"):
            cursor.execute(what if kind == "index" else sql)
        timings["index_seconds"] = time.perf_counter() - started
        started = time.perf_counter()
        for table in LOADED_TABLES:
            print(f"VACUUM ANALYZE {table}…", file=sys.stderr)
            cursor.execute(f"VACUUM ANALYZE {table}")
        timings["vacuum_seconds"] = time.perf_counter() - started
    return timings


def build_rollups(workspaces: list[Any]) -> dict[str, Any]:
    """The rollups as an operator gets them, timed: ``rollups_rebuild`` per
    workspace (what ``manage.py rebuild_rollups`` runs: recount, compare, write the
    day rows), then ``rollups_compact`` (what beat runs: fold shards, summarise the
    settled days into weeks, months and coarser grains)."""
    from django.db import connection

    from analytics.models import RollupSummary, SessionRollup
    from analytics.services import rollups_compact, rollups_rebuild

    SessionRollup.objects.filter(workspace__in=workspaces).delete()
    RollupSummary.objects.filter(workspace__in=workspaces).delete()
    started = time.perf_counter()
    keys = 0
    for workspace in workspaces:
        began = time.perf_counter()
        print(f"rollups_rebuild {workspace.slug}…", file=sys.stderr, flush=True)
        report = rollups_rebuild(workspace=workspace)
        keys += report.keys_checked
        print(
            f"  {report.sessions_counted} sessions, {report.keys_checked} keys, "
            f"{time.perf_counter() - began:.1f} s",
            file=sys.stderr,
        )
    rebuild_seconds = time.perf_counter() - started
    print("rollups_compact (summarise settled days)…", file=sys.stderr, flush=True)
    started = time.perf_counter()
    rollups_compact()
    compact_seconds = time.perf_counter() - started
    # What autovacuum does shortly after a bulk write; without statistics the
    # planner guesses one row and sorts instead of hashing.
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {SessionRollup._meta.db_table}")
    return {
        "rebuild_seconds": rebuild_seconds,
        "rebuild_keys": keys,
        "compact_seconds": compact_seconds,
        "rollup_rows": SessionRollup.objects.count(),
    }


# --- Measuring the dashboard's reads ---------------------------------------------------


@dataclass
class Read:
    name: str
    path: str
    params: dict[str, str]
    raw: Callable[[], Any] | None = None  # the same figures from raw sessions
    api: bool = True  # an API call (the target applies)
    api_ms: list[float] = field(default_factory=list)
    raw_ms: list[float] = field(default_factory=list)
    agree: bool | None = None
    rows: int | None = None


def reads_for(domain: Domain, key: str) -> list[Read]:
    from analytics import selectors
    from analytics.selectors import AnalyticsFilters

    workspace = domain.workspaces[0]
    today = selectors.workspace_today(workspace)
    legacy = domain.surveys[workspace.pk][1]

    def span(days: int, **extra: str) -> dict[str, str]:
        return {
            "from": (today - timedelta(days=days - 1)).isoformat(),
            "to": today.isoformat(),
            **extra,
        }

    def flt(params: dict[str, str]) -> AnalyticsFilters:
        return selectors.filters_parse(workspace=workspace, params=params)

    locale = workspace.default_locale

    def headline(p: dict[str, str]) -> Callable[[], Any]:
        return lambda: selectors.headline(workspace=workspace, filters=flt(p), source="raw")

    def reasons(p: dict[str, str]) -> Callable[[], Any]:
        return lambda: selectors.reasons(
            workspace=workspace, filters=flt(p), locale=locale, source="raw"
        )

    def trends(p: dict[str, str]) -> Callable[[], Any]:
        return lambda: selectors.trends(
            workspace=workspace, filters=flt(p), interval=p["interval"], source="raw"
        )

    def offers(p: dict[str, str]) -> Callable[[], Any]:
        return lambda: selectors.offer_performance(
            workspace=workspace, filters=flt(p), source="raw"
        )

    def breakdown(p: dict[str, str]) -> Callable[[], Any]:
        def run() -> Any:
            f = flt(p)
            rows = selectors.breakdown(workspace=workspace, filters=f, by=p["by"], source="raw")
            return {"from": f.date_from, "to": f.date_to, "by": p["by"], "rows": rows}

        return run

    base = "/api/v1/analytics/"
    reads: list[Read] = []

    def add(name: str, endpoint: str, params: dict[str, str], raw: Any) -> None:
        reads.append(Read(name, base + endpoint, params, raw(params) if raw else None))

    add("funnel 30d", "funnel", span(30), headline)
    add("funnel 90d", "funnel", span(90), headline)
    add("funnel 180d", "funnel", span(180), headline)
    add("funnel 30d plan=Pro", "funnel", span(30, plan="Pro"), headline)
    add("funnel 180d plan=Team zh", "funnel", span(180, plan="Team", locale="zh-hans"), headline)
    if legacy:
        add("funnel 180d survey=legacy", "funnel", span(180, survey=str(legacy)), headline)
    add("reasons 30d", "reasons", span(30), reasons)
    add("reasons 180d", "reasons", span(180), reasons)
    add("reasons 180d plan=Pro", "reasons", span(180, plan="Pro"), reasons)
    add("trends day 30d", "trends", span(30, interval="day"), trends)
    add("trends week 90d", "trends", span(90, interval="week"), trends)
    add("trends week 180d", "trends", span(180, interval="week"), trends)
    add("trends month 180d", "trends", span(180, interval="month"), trends)
    add("trends day 180d", "trends", span(180, interval="day"), trends)
    add("trends week 180d zh", "trends", span(180, interval="week", locale="zh-hans"), trends)
    add("trends day 180d zh", "trends", span(180, interval="day", locale="zh-hans"), trends)
    add(
        "trends day 180d plan=Team zh",
        "trends",
        span(180, interval="day", plan="Team", locale="zh-hans"),
        trends,
    )
    add("offers 30d", "offers", span(30), offers)
    add("offers 180d", "offers", span(180), offers)
    add("offers 180d plan=Starter", "offers", span(180, plan="Starter"), offers)
    for by in ("plan", "locale", "survey"):
        add(f"breakdown {by} 30d", "breakdown", span(30, by=by), breakdown)
        add(f"breakdown {by} 180d", "breakdown", span(180, by=by), breakdown)
    add("breakdown plan 180d zh", "breakdown", span(180, by="plan", locale="zh-hans"), breakdown)
    # The customers' words: read from raw answers by design (no rollup).
    add("verbatims 30d", "verbatims", span(30), None)
    add("verbatims 180d", "verbatims", span(180), None)
    add("verbatims 180d category=values", "verbatims", span(180, category="values"), None)
    add("verbatims 180d reason=support", "verbatims", span(180, reason="support"), None)
    add("verbatims 30d q=sso", "verbatims", span(30, q="sso"), None)
    add("verbatims 180d q=sso", "verbatims", span(180, q="sso"), None)
    # Words under three characters (most Chinese words): the index of short words.
    add("verbatims 30d q=日历", "verbatims", span(30, q="日历"), None)
    add("verbatims 180d q=日历", "verbatims", span(180, q="日历"), None)
    add("verbatims 30d q=退款 (none)", "verbatims", span(30, q="退款"), None)
    add("verbatims 180d q=贵", "verbatims", span(180, q="贵"), None)
    add(
        "verbatims 180d Enterprise saved",
        "verbatims",
        span(180, plan="Enterprise", outcome="saved"),
        None,
    )
    add("verbatims 180d offset=1000", "verbatims", span(180, offset="1000"), None)
    return reads


def page_reads(domain: Domain) -> list[tuple[str, Callable[[], Any]]]:
    """The dashboard page's reads that are not API calls, and the pages."""
    from django.test import Client

    from alerts.selectors import alert_counts
    from analytics import selectors

    workspace = domain.workspaces[0]
    today = selectors.workspace_today(workspace)
    user = domain.extras["user"]
    client = Client()
    client.force_login(user)

    def span(days: int) -> str:
        return f"from={(today - timedelta(days=days - 1)).isoformat()}&to={today.isoformat()}"

    def page(path: str) -> Callable[[], Any]:
        def get() -> Any:
            response = client.get(path)
            if response.status_code != 200:
                raise SystemExit(f"{path}: HTTP {response.status_code}")
            return response

        return get

    f180 = selectors.filters_parse(
        workspace=workspace,
        params={"from": (today - timedelta(days=179)).isoformat(), "to": today.isoformat()},
    )
    since, until = selectors.filters_bounds(workspace, f180)
    slug = workspace.slug
    return [
        ("filter_choices", lambda: selectors.filter_choices(workspace=workspace)),
        (
            "alert_counts 180d",
            lambda: alert_counts(workspace=workspace, since=since, until=until),
        ),
        ("dashboard page 30d", page(f"/app/{slug}/?{span(30)}")),
        ("dashboard page 180d", page(f"/app/{slug}/?{span(180)}")),
        ("words page 30d", page(f"/app/{slug}/words/?{span(30)}")),
        ("words page 180d", page(f"/app/{slug}/words/?{span(180)}")),
    ]


def measure_reads(
    domain: Domain, key: str, repeat: int, raw_repeat: int, skip_raw: bool
) -> tuple[list[Read], list[tuple[str, float, float, int]]]:
    from django.test import Client
    from rest_framework.renderers import JSONRenderer
    from tqdm import tqdm

    from config.runtime import heap_settle

    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    reads = reads_for(domain, key)
    renderer = JSONRenderer()
    heap_settle()  # as the web server's process does once loaded (config/wsgi.py)
    for read in tqdm(reads, desc="API calls", unit="call"):
        body: Any = None
        for i in range(repeat + 2):
            started = time.perf_counter()
            response = client.get(read.path, read.params)
            body = response.content
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise SystemExit(f"{read.name}: HTTP {response.status_code} {body[:300]!r}")
            if i >= 2:  # two warm-up calls
                read.api_ms.append(elapsed)
        api_figures = json.loads(body)
        if "results" in api_figures:
            read.rows = len(api_figures["results"])
        if read.raw is None or skip_raw:
            continue
        raw_figures: Any = None
        for _ in range(raw_repeat):
            started = time.perf_counter()
            raw_figures = read.raw()
            read.raw_ms.append((time.perf_counter() - started) * 1000)
        read.agree = json.loads(renderer.render(raw_figures)) == api_figures
        if not read.agree:
            print(f"\n!!! MISMATCH: {read.name}: rollups and raw sessions disagree !!!\n")
            print("  API (rollups):", json.dumps(api_figures)[:2000])
            print("  raw sessions: ", renderer.render(raw_figures)[:2000].decode())
    pages: list[tuple[str, float, float, int]] = []
    for name, call in tqdm(page_reads(domain), desc="dashboard page reads", unit="read"):
        times: list[float] = []
        began = time.perf_counter()
        for i in range(max(repeat // 3, 5) + 1):
            started = time.perf_counter()
            call()
            if i:
                times.append((time.perf_counter() - started) * 1000)
            if len(times) >= 3 and time.perf_counter() - began > 30:
                break  # a slow page: three timings are enough to show it
        pages.append((name, percentile(times, 0.5), percentile(times, 0.95), len(times)))
    return reads, pages


# --- The flow's write path, with and without rollup upkeep -------------------------------


def flow_client(args: tuple[str, bool, float, int, str]) -> tuple[int, int, float]:
    """One process: open -> answer -> accept or cancel, until the deadline.
    Returns (sessions, transitions, seconds)."""
    workspace_slug, upkeep, seconds, index, run = args
    from django.db import connections

    connections.close_all()
    import surveys.services as flow
    from surveys.services import CustomerInput, SubscriptionInput
    from workspaces.models import Workspace

    if not upkeep:
        from analytics.subscribers import rollups_update
        from config.events import unsubscribe

        for name in flow.SESSION_EVENTS:
            unsubscribe(name, rollups_update)
    workspace = Workspace.objects.get(slug=workspace_slug)
    rng = random.Random(index)
    reasons = list(REASON_WEIGHTS)
    cum = _cumulative(list(REASON_WEIGHTS.values()))
    plans = list(PLANS)
    done = transitions = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        n = f"{run}_{index}_{done}_{'on' if upkeep else 'off'}"
        plan = rng.choice(plans)
        opened = flow.session_open(
            workspace=workspace,
            customer=CustomerInput(id=f"cus_{n}", email=f"{n}@example.com"),
            subscription=SubscriptionInput(
                id=f"sub_{n}", plan=plan, mrr_cents=rng.choice(PLANS[plan][1])
            ),
            locale=rng.choice(("en", "en", "zh-hans", None)),
        ).session
        session = flow.session_answer(
            token=opened.token,
            reason_code=rng.choices(reasons, cum_weights=cum)[0],
            text=rng.choice(("", "", "too pricey for us", "project finished")),
        )
        if session.offer_id and rng.random() < 0.3:
            months = 2 if session.offer and session.offer.kind == "pause" else None
            flow.session_accept(token=session.token, offer_id=session.offer_id, months=months)
        else:
            flow.session_cancel(token=session.token)
        done += 1
        transitions += 3
    return done, transitions, time.perf_counter() - started


def measure_flow(domain: Domain, seconds: float, rounds: int, clients: int) -> dict[str, Any]:
    from django.db import connections
    from tqdm import tqdm

    from analytics.services import rollups_rebuild

    run = secrets.token_hex(3)
    per_round: dict[bool, list[float]] = {True: [], False: []}
    slug = domain.flow_workspace.slug
    # Pairs of adjacent rounds, on first in one pair and off first in the next.
    order = [
        mode for i in range(rounds) for mode in ((True, False) if i % 2 == 0 else (False, True))
    ]
    # One short warm-up round per mode (connections, caches, the categoriser).
    schedule = [(True, True), (False, True)] + [(mode, False) for mode in order]
    for number, (mode, warmup) in enumerate(tqdm(schedule, desc="flow rounds", unit="round")):
        connections.close_all()
        length = min(seconds, 3.0) if warmup else seconds
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(clients) as pool:
            results = pool.map(
                flow_client, [(slug, mode, length, i, f"{run}r{number}") for i in range(clients)]
            )
        if warmup:
            continue
        transitions = sum(t for _d, t, _s in results)
        elapsed = max(s for _d, _t, s in results)
        per_round[mode].append(transitions / elapsed)
    connections.close_all()
    # Sessions written with upkeep off are missing from the rollups: heal them.
    report = rollups_rebuild(workspace=domain.flow_workspace)
    # Each on round is compared with the off round next to it, and the median of
    # those ratios is the cost, so a burst of other work on a shared machine
    # skews one pair, not the figure.
    on = statistics.median(per_round[True])
    off = statistics.median(per_round[False])
    pairs = [1 - a / b for a, b in zip(per_round[True], per_round[False], strict=True) if b]
    return {
        "on": on,
        "off": off,
        "cost": statistics.median(pairs) if pairs else float("nan"),
        "pairs": pairs,
        "rounds_on": per_round[True],
        "rounds_off": per_round[False],
        "healed_keys": len(report.differences),
    }


# --- Main ----------------------------------------------------------------------------------


def main() -> None:
    options = parse_args()
    url = options.database_url
    if not url.startswith("postgres"):
        raise SystemExit("bench/analytics.py measures PostgreSQL: --database-url postgres://…")
    state = loaded_state(url)
    must_load = (
        options.reload
        or state is None
        or state.get("sessions") != options.sessions
        or state.get("days") != options.days
    )
    if must_load:
        print(f"(re)creating {url.rsplit('/', 1)[1]}…", file=sys.stderr)
        recreate_database(url)
    os.environ.update(
        {
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "REDIS_URL": BENCH_REDIS,
            "LOG_LEVEL": "WARNING",
            "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
            "DB_CONN_MAX_AGE": "600",
            # One key sends thousands of requests: no throttling here.
            "THROTTLE_ENABLED": "false",
        }
    )
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection

    from workspaces.models import Role, Workspace
    from workspaces.services import api_key_issue, membership_add

    if must_load:
        call_command("migrate", verbosity=0)
        workspaces, flow_workspace = setup_domain(options.days)
        domain = domain_of(workspaces, flow_workspace)
        timings = load_sessions(url, domain, options.sessions, options.days, options.seed)
        state = {
            "sessions": options.sessions,
            "days": options.days,
            **timings,
            "loaded_at": datetime.now(UTC).isoformat(),
        }
        # The sessions are in: a later run reuses them (and builds the rollups
        # again if they were not built).
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TABLE {MARKER} (facts jsonb)")
            cursor.execute(f"INSERT INTO {MARKER} VALUES (%s)", [json.dumps(state)])
    else:
        print("reusing the sessions loaded earlier", file=sys.stderr)
        call_command("migrate", verbosity=0)
        slugs = [slug for slug, *_rest in WORKSPACES]
        by_slug = {w.slug: w for w in Workspace.objects.filter(slug__in=slugs)}
        workspaces = [by_slug[s] for s in slugs]
        domain = domain_of(workspaces, Workspace.objects.get(slug=FLOW_WORKSPACE[0]))
    assert state is not None
    if must_load or options.rebuild or "rebuild_seconds" not in state:
        state.update(build_rollups(workspaces))
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {MARKER} SET facts = %s", [json.dumps(state)])
    bench = domain.workspaces[0]
    key = api_key_issue(workspace=bench, name="bench").raw_key
    user, _ = User.objects.get_or_create(username="bench-analyst")
    membership_add(workspace=bench, user=user, role=Role.ANALYST)
    domain.extras["user"] = user

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_size_pretty(pg_total_relation_size('surveys_cancelsession')), "
            "pg_size_pretty(pg_total_relation_size('surveys_response')), "
            "pg_size_pretty(pg_total_relation_size('analytics_sessionrollup'))"
        )
        sizes = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM analytics_sessionrollup WHERE workspace_id = %s", [bench.pk]
        )
        bench_rollups = cursor.fetchone()[0]
    from surveys.models import CancelSession

    bench_sessions = CancelSession.objects.filter(workspace=bench).count()

    reads, pages = measure_reads(domain, key, options.repeat, options.raw_repeat, options.skip_raw)
    flow = None
    if not options.skip_flow:
        flow = measure_flow(domain, options.flow_seconds, options.flow_rounds, options.flow_clients)
    import redis

    redis.Redis.from_url(BENCH_REDIS).flushdb()

    # --- Report ---
    print()
    print(
        f"PostgreSQL, {state['sessions']:,} sessions over {state['days']} days "
        f"({bench_sessions:,} in the measured workspace '{bench.slug}', {bench.time_zone}); "
        f"tables: sessions {sizes[0]}, responses {sizes[1]}, rollups {sizes[2]} "
        f"({state['rollup_rows']:,} rows, {bench_rollups:,} for '{bench.slug}')"
    )
    if "copy_seconds" in state:
        rate = state["sessions"] / state["copy_seconds"]
        print(
            f"load: COPY {state['copy_seconds']:.0f} s ({rate:,.0f} sessions/s, "
            f"{state['responses']:,} answers), indexes {state['index_seconds']:.0f} s, "
            f"vacuum analyze {state['vacuum_seconds']:.0f} s"
        )
    print(
        f"rollups: rollups_rebuild (all workspaces) {state['rebuild_seconds']:.1f} s for "
        f"{state['rebuild_keys']:,} keys, then rollups_compact (summarising the settled days) "
        f"{state['compact_seconds']:.1f} s"
    )
    print(
        f"API: {options.repeat} calls each through Django's test client after 2 warm-ups; "
        f"raw: {options.raw_repeat} recounts each (median)\n"
    )
    header = (
        f"{'dashboard read':34} {'api p50':>8} {'api p95':>8} {'raw p50':>9} "
        f"{'raw/api':>8} {'agree':>6} {'≤50ms':>6}"
    )
    print(header)
    print("-" * len(header))
    worst = 0.0
    all_agree = True
    for read in reads:
        p50, p95 = percentile(read.api_ms, 0.5), percentile(read.api_ms, 0.95)
        worst = max(worst, p95)
        raw = statistics.median(read.raw_ms) if read.raw_ms else None
        agree = "—" if read.agree is None else ("yes" if read.agree else "NO")
        all_agree = all_agree and read.agree is not False
        print(
            f"{read.name:34} {p50:8.1f} {p95:8.1f} "
            f"{(f'{raw:9.0f}' if raw is not None else '        —')} "
            f"{(f'{raw / p50:7.0f}x' if raw is not None else '       —')} {agree:>6} "
            f"{'yes' if p95 <= API_TARGET_MS else 'NO':>6}"
        )
    print()
    print(f"{'dashboard page read (not an API call)':40} {'p50 ms':>8} {'p95 ms':>8} {'runs':>5}")
    for name, p50, p95, runs in pages:
        print(f"{name:40} {p50:8.1f} {p95:8.1f} {runs:5d}")
    print()
    if flow is not None:
        print(
            f"flow write path (open -> answer -> accept/cancel), {options.flow_clients} "
            f"processes, {options.flow_rounds} x {options.flow_seconds:.0f} s per mode:"
        )
        print(
            f"  rollup upkeep on : {flow['on']:7.1f} transitions/s median (rounds: "
            + ", ".join(f"{r:.1f}" for r in flow["rounds_on"])
            + ")"
        )
        print(
            f"  rollup upkeep off: {flow['off']:7.1f} transitions/s median (rounds: "
            + ", ".join(f"{r:.1f}" for r in flow["rounds_off"])
            + ")"
        )
        print("  cost per pair of rounds: " + ", ".join(f"{p * 100:.1f}%" for p in flow["pairs"]))
        print(
            f"  upkeep cost (median of the pairs): {flow['cost'] * 100:.1f}% of throughput "
            f"(rebuild afterwards healed {flow['healed_keys']} keys written with upkeep off)"
        )
        print()
    print("targets:")
    print(
        f"  every dashboard API call ≤ {API_TARGET_MS:.0f} ms p95: "
        f"{'MET' if worst <= API_TARGET_MS else 'NOT MET'} (worst p95 {worst:.1f} ms)"
    )
    if flow is not None:
        print(
            f"  rollup upkeep ≤ {UPKEEP_TARGET * 100:.0f}% of flow throughput: "
            f"{'MET' if flow['cost'] <= UPKEEP_TARGET else 'NOT MET'} ({flow['cost'] * 100:.1f}%)"
        )
    if not options.skip_raw:
        print(f"  rollups agree with raw sessions: {'yes' if all_agree else 'NO (see above)'}")


if __name__ == "__main__":
    main()
