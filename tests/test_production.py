"""Production settings (issue 15, item 9): no start without a secret key, the
HTTPS knobs from the environment, `check --deploy` clean with the README's
production environment, and a Content-Security-Policy on every HTML page."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory

from config.csp import HEADER, ContentSecurityPolicyMiddleware, policy

ROOT = Path(__file__).resolve().parents[1]
# Whatever the developer's or CI's shell has set must not leak into these runs.
_OURS = re.compile(
    r"^(DEBUG|SECRET_KEY|SECRET_KEY_FILE|ALLOWED_HOSTS|PUBLIC_BASE_URL|CSRF_TRUSTED_ORIGINS"
    r"|SECURE_.*|TRUST_X_FORWARDED_PROTO|DATABASE_URL|REDIS_URL"
    r"|DJANGO_ALLOW_ASYNC_UNSAFE)$"  # the browser tests set it for themselves
)


def run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not _OURS.match(k)}
    environment.update(env)
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def readme_production_env() -> dict[str, str]:
    """The ```sh block under the README's "In production" heading, as variables."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### In production", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    env = dict(line.split("=", 1) for line in block.splitlines() if line.strip())
    assert env["SECRET_KEY"].startswith("<")  # a placeholder: each deployment has its own
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    return env


# --- The secret key ---------------------------------------------------------------------


def test_no_secret_key_without_debug_refuses_to_start() -> None:
    result = run(["manage.py", "check"], DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert "SECRET_KEY_FILE" in result.stderr  # the message says how to fix it


def test_an_empty_secret_key_is_no_key() -> None:
    result = run(["manage.py", "check"], SECRET_KEY="  ")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_runs_with_the_development_key() -> None:
    result = run(["manage.py", "check"], DEBUG="true")
    assert result.returncode == 0, result.stderr


def test_the_key_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "key"
    secret.write_text("from-a-file-" + "k" * 40 + "\n")
    result = run(
        [
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.SECRET_KEY)",
        ],
        SECRET_KEY_FILE=str(secret),
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    assert result.stdout.strip() == "from-a-file-" + "k" * 40, result.stderr


def test_make_keeps_a_key_of_its_own(tmp_path: Path) -> None:
    """`make run`'s key: made once into .secret_key, unreadable to others, kept."""
    result = subprocess.run(
        ["make", "-s", "-f", str(ROOT / "Makefile"), "-C", str(tmp_path), ".secret_key"],
        env={k: v for k, v in os.environ.items() if not _OURS.match(k)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    key_file = tmp_path / ".secret_key"
    key = key_file.read_text().strip()
    assert len(key) >= 50
    assert key_file.stat().st_mode & 0o077 == 0
    subprocess.run(
        ["make", "-s", "-f", str(ROOT / "Makefile"), "-C", str(tmp_path), ".secret_key"],
        check=True,
        timeout=60,
    )
    assert key_file.read_text().strip() == key
    assert ".secret_key" in (ROOT / ".gitignore").read_text().split()


# --- HTTPS settings from the environment --------------------------------------------------


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SECURE_HSTS_SECONDS": "a year"}, "SECURE_HSTS_SECONDS='a year' is not a whole number"),
        ({"SECURE_HSTS_SECONDS": "-1"}, "SECURE_HSTS_SECONDS=-1 must be at least 0"),
        ({"SECURE_SSL_REDIRECT": "yes please"}, "SECURE_SSL_REDIRECT='yes please'"),
        ({"SECURE_HSTS_PRELOAD": "1x"}, "SECURE_HSTS_PRELOAD='1x'"),
        ({"SECURE_HSTS_INCLUDE_SUBDOMAINS": "?"}, "SECURE_HSTS_INCLUDE_SUBDOMAINS='?'"),
        ({"SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto: https"}, "SECURE_PROXY_SSL_HEADER="),
        (
            {"SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO"},
            "e.g. HTTP_X_FORWARDED_PROTO,https",
        ),
        (
            {"SECURE_PROXY_SSL_HEADER": "HTTP_X_SCHEME,https", "TRUST_X_FORWARDED_PROTO": "true"},
            "disagree",
        ),
    ],
)
def test_bad_https_settings_fail_loudly(env: dict[str, str], message: str) -> None:
    result = run(["manage.py", "check"], DEBUG="true", **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_https_settings_come_from_the_environment() -> None:
    result = run(
        [
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS,"
            " s.SECURE_HSTS_PRELOAD, s.SECURE_PROXY_SSL_HEADER, s.SESSION_COOKIE_SECURE,"
            " s.CSRF_COOKIE_SECURE)",
        ],
        DEBUG="true",
        DJANGO_SETTINGS_MODULE="config.settings",
        SECURE_SSL_REDIRECT="true",
        SECURE_HSTS_SECONDS="3600",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
        SECURE_HSTS_PRELOAD="false",
        SECURE_PROXY_SSL_HEADER="HTTP_X_SCHEME,https",
        SECURE_COOKIES="true",
    )
    assert result.stdout.split("\n")[0] == (
        "True 3600 True False ('HTTP_X_SCHEME', 'https') True True"
    ), result.stderr


def test_hsts_and_the_redirect_in_a_response(settings) -> None:
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    client = Client()
    response = client.get("/accounts/login/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/accounts/login/"
    response = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=3600; includeSubDomains"


# --- check --deploy -----------------------------------------------------------------------


def test_check_deploy_is_clean_with_the_documented_production_environment() -> None:
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **readme_production_env()
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize(
    ("left_out", "warning"),
    [
        ("SECURE_HSTS_SECONDS", "security.W004"),
        ("SECURE_SSL_REDIRECT", "security.W008"),
        ("SECURE_COOKIES", "security.W012"),
    ],
)
def test_check_deploy_notices_each_setting_left_out(left_out: str, warning: str) -> None:
    env = readme_production_env()
    del env[left_out]
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **env)
    assert result.returncode != 0
    assert warning in result.stderr + result.stdout


# --- Content-Security-Policy ----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/", "/api/docs/", "/c/nope/"])
def test_every_html_page_has_the_policy(path: str) -> None:
    response = Client().get(path)
    assert response["Content-Type"].startswith("text/html")
    csp = response[HEADER]
    assert "script-src 'self';" in csp
    assert "style-src 'self';" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp


@pytest.mark.django_db
def test_swagger_ui_loads_its_initializer_as_a_script() -> None:
    client = Client()
    page = client.get("/api/docs/").content.decode()
    assert not re.search(r"<script>(?!</script>)", page)  # no inline script
    assert not re.search(r"<style", page)
    script = re.search(r'<script src="([^"]*script=[^"]*)"', page)
    assert script is not None
    response = client.get(script.group(1).replace("&amp;", "&"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in response.content.decode()


def test_no_template_has_inline_script_or_handlers() -> None:
    """Our templates (emails aside, which no browser runs as pages) stay CSP-clean."""
    offenders = []
    for template in (ROOT / "templates").rglob("*.html"):
        if "/email/" in str(template):
            continue
        # The one exception: the brand's accent colour, allowed by its hash in the
        # hosted pages' style-src (surveys.hosted), never by 'unsafe-inline'.
        text = template.read_text().replace("<style>{{ brand.style }}</style>", "")
        if re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", text):
            offenders.append(f"{template}: inline <script>")
        if re.search(r"\son[a-z]+\s*=", text):
            offenders.append(f"{template}: on*= handler")
        if re.search(r"\sstyle\s*=|<style", text):
            offenders.append(f"{template}: inline style")
    assert offenders == []


def test_a_view_can_set_its_own_policy() -> None:
    own = policy(frame_ancestors=["https://shop.example"])
    assert "frame-ancestors https://shop.example" in own
    assert "script-src 'self'" in own

    def view(request):
        response = HttpResponse("<p>framed</p>")
        response[HEADER] = own
        return response

    response = ContentSecurityPolicyMiddleware(view)(RequestFactory().get("/"))
    assert response[HEADER] == own


def test_json_answers_carry_no_page_policy() -> None:
    response = ContentSecurityPolicyMiddleware(
        lambda request: HttpResponse("{}", content_type="application/json")
    )(RequestFactory().get("/api/v1/x"))
    assert HEADER not in response
