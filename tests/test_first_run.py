"""A first run is quiet and right (issue 19, item 8), and the broker settings."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.test_settings import start

ROOT = Path(__file__).resolve().parents[1]


def embedded(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")
    }
    environment.update({"DJANGO_SETTINGS_MODULE": "config.settings", **env})
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_embedded_mode_names_no_missing_hostname() -> None:
    """kombu warned "No hostname was supplied" for the memory:// broker."""
    done = embedded(
        "from django.conf import settings\n"
        "from config.celery import app\n"
        "print(settings.CELERY_TASK_ALWAYS_EAGER)\n"
        "with app.connection_for_write() as c: c.info(); c.as_uri()\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
    assert "No hostname" not in done.stdout + done.stderr


def test_rabbitmq_as_the_broker() -> None:
    done = embedded(
        "from django.conf import settings\n"
        "print(settings.CELERY_BROKER_URL, settings.CELERY_TASK_ALWAYS_EAGER,"
        " settings.BROKER_IS_AMQP, settings.CELERY_TASK_DEFAULT_QUEUE)\n",
        CELERY_BROKER_URL="amqp://guest:guest@127.0.0.1:5672//",
        CELERY_QUEUE="shop-a",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["amqp://guest:guest@127.0.0.1:5672//", "False", "True", "shop-a"]


def test_a_broker_url_of_another_kind_is_refused() -> None:
    result = start(CELERY_BROKER_URL="http://127.0.0.1:5672")
    assert result.returncode != 0
    assert "CELERY_BROKER_URL='http://127.0.0.1:5672' must start with" in result.stderr


def test_the_license_is_an_spdx_expression() -> None:
    """setuptools deprecated ``license = {text = …}`` (it warned on every install)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
    assert "setuptools>=77" in project["build-system"]["requires"]


def test_the_lock_file_covers_the_dependencies() -> None:
    """`make lock` writes requirements-dev.lock from pyproject.toml; every
    dependency named there is pinned, with hashes (the embeddings extra too, so
    that its tests run)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lock = (ROOT / "requirements-dev.lock").read_text().lower().replace("_", "-")
    pinned = {
        line.split("==")[0].strip() for line in lock.splitlines() if "==" in line and line[0] != " "
    }
    extras = project["optional-dependencies"]
    for requirement in [*project["dependencies"], *extras["dev"], *extras["embeddings"]]:
        name = requirement.split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip()
        assert name.lower().replace("_", "-") in pinned, name
    assert "--hash=sha256:" in lock


def test_the_design_and_operating_notes_live_in_the_repository() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "/work/" not in readme and "shared/DESIGN.md" not in readme
    assert "docs/design.md" in readme
    assert (ROOT / "docs" / "design.md").exists()
    assert "## Operating it" in readme
