"""Bad settings stop start-up with a message naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def start(**env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"SESSION_ABANDON_AFTER_MINUTES": "soon"}, "SESSION_ABANDON_AFTER_MINUTES='soon'"),
        ({"SESSION_TOKEN_TTL_MINUTES": "0"}, "must be at least 1"),
        ({"TIME_ZONE": "Mars/Olympus"}, "TIME_ZONE='Mars/Olympus' is not a known time zone"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL='localhost:6379' must start with"),
        ({"DATABASE_URL": "mysql://x@y/z"}, "DATABASE_URL must be postgres"),
        ({"SECRET_KEY_FILE": "/nonexistent/secret"}, "SECRET_KEY_FILE"),
        (
            {"DB_PREPARED_STATEMENTS": "sometimes", "DATABASE_URL": "postgres://u@127.0.0.1/x"},
            "DB_PREPARED_STATEMENTS='sometimes'",
        ),
        ({"STRIPE_API_BASE": "127.0.0.1:12111"}, "STRIPE_API_BASE='127.0.0.1:12111' must start"),
        ({"STRIPE_API_BASE": "http://127.0.0.1:12111/v1"}, "must be a scheme and host"),
    ],
)
def test_bad_values_fail_loudly(env: dict[str, str], message: str) -> None:
    result = start(**env)
    assert result.returncode != 0
    assert message in result.stderr


def test_secret_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cret-from-file\n")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django;django.setup();from django.conf import settings;"
            "print(settings.SECRET_KEY)",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "SECRET_KEY_FILE": str(secret),
            "DJANGO_SETTINGS_MODULE": "config.settings",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "s3cret-from-file"


@pytest.mark.parametrize(("flag", "expected"), [("", "True 2"), ("false", "None None")])
def test_prepared_statements_on_postgresql_unless_turned_off(flag: str, expected: str) -> None:
    """Server-side binding with prepared plans by default; off for poolers."""
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    env.pop("DB_PREPARED_STATEMENTS", None)
    if flag:
        env["DB_PREPARED_STATEMENTS"] = flag
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django;django.setup();from django.conf import settings;"
            "o=settings.DATABASES['default'].get('OPTIONS', {});"
            "print(o.get('server_side_binding'), o.get('prepare_threshold'))",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == expected, result.stderr


def test_the_embedded_mode_shares_its_cache_between_processes(tmp_path: Path) -> None:
    """Without Redis, two processes (gunicorn's workers) see one count: a sign-in
    lockout counted per process would let each worker grant its own ten guesses."""
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    environment.update({"LOCAL_CACHE": "files", "CACHE_DIR": str(tmp_path / "cache")})
    script = (
        "import django;django.setup();from django.core.cache import cache;"
        "cache.add('guesses', 0, 60);print(cache.incr('guesses'))"
    )
    counts = [
        subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env={**environment, "DJANGO_SETTINGS_MODULE": "config.settings"},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()
        for _ in range(2)
    ]
    assert counts == ["1", "2"]


def test_an_unknown_local_cache_fails_loudly() -> None:
    result = start(LOCAL_CACHE="disk")
    assert result.returncode != 0
    assert "LOCAL_CACHE='disk' must be files or memory" in result.stderr
