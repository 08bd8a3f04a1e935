"""Dependencies between the apps run one way (DESIGN.md, "Layout").

Every ``.py`` file of the apps is parsed (migrations and tests excluded) and each
import is checked, those inside functions included: an app may import its own
modules, the infrastructure (``config``) and the apps below it, never one above
it or beside it. ``config`` is below every app and imports none, except the
project's root URL configuration, which mounts each app's URLs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The order, stated once: an app stands on every app of a lower level.
LEVELS: dict[str, int] = {
    "config": 0,  # infrastructure: settings, errors, the event bus
    "workspaces": 1,
    "surveys": 2,
    "offers": 3,
    "alerts": 4,
    "analytics": 4,
    "privacy": 5,
    "demo": 5,  # the demo data, which needs every app
}

# The one exception for config: config/urls.py is the project's root and mounts
# each app's URLs (today by dotted string, ``include("surveys.urls")``, so it
# imports none; an import there would be allowed). config/settings.py names the
# apps only as strings (INSTALLED_APPS, the beat schedule).
ROOT_URLCONF = "config/urls.py"

# Known upward or sideways imports in apps this change does not fix (issue 16
# item 1 for offers, alerts and analytics is done elsewhere). Each entry is
# (file, imported module). The test fails when a new one appears, and also when
# one listed here is gone, so the list only shrinks.
ALLOWED: set[tuple[str, str]] = {
    # offers sends customer confirmations and applies billing through alerts'
    # delivery machinery (its outbox, transports and delivery records)
    ("offers/confirmation.py", "alerts.models"),
    ("offers/confirmation.py", "alerts.transports.base"),
    ("offers/confirmation.py", "alerts.transports.mail"),
    ("offers/services.py", "alerts.models"),
    ("offers/services.py", "alerts.services"),
    ("offers/stripe_billing.py", "alerts.models"),
    ("offers/stripe_billing.py", "alerts.transports.base"),
    ("offers/stripe_billing.py", "alerts.transports.http"),
    # analytics (beside alerts) reads its teams and sends the digest as deliveries
    # through alerts' delivery machinery, like offers' confirmations
    ("analytics/digest.py", "alerts.selectors"),
    ("analytics/digest.py", "alerts.services"),
    ("analytics/digest.py", "alerts.transports.mail"),
    ("analytics/views.py", "alerts.selectors"),
}


def _app_files() -> Iterator[tuple[str, Path]]:
    for app in LEVELS:
        base = ROOT / app
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if "migrations" in parts or "tests" in parts:
                continue
            yield app, path


def _imported_modules(tree: ast.AST, package: str) -> Iterator[str]:
    """Every module the file imports, at any depth (inside functions too)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                yield ".".join([*base, node.module] if node.module else base)
            elif node.module:
                yield node.module


def upward_imports() -> list[tuple[str, str]]:
    found = []
    for app, path in _app_files():
        relative = path.relative_to(ROOT).as_posix()
        package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=relative)
        for module in _imported_modules(tree, package):
            target = module.split(".")[0]
            if target == app or target not in LEVELS:
                continue
            if relative == ROOT_URLCONF:
                continue
            if LEVELS[target] >= LEVELS[app]:
                found.append((relative, module))
    return sorted(set(found))


def test_no_import_goes_against_the_direction() -> None:
    new = [pair for pair in upward_imports() if pair not in ALLOWED]
    assert new == [], "imports against the direction workspaces < surveys < offers < ..."


def test_the_allowlist_only_shrinks() -> None:
    stale = sorted(ALLOWED - set(upward_imports()))
    assert stale == [], "fixed: remove these from ALLOWED"


def test_the_checker_sees_imports_inside_functions(tmp_path: Path) -> None:
    source = "def f():\n    from offers.selectors import offer_pick\n    import alerts.tasks\n"
    modules = set(_imported_modules(ast.parse(source), "surveys"))
    assert modules == {"offers.selectors", "alerts.tasks"}
    relative = set(_imported_modules(ast.parse("from ..models import X\n"), "surveys.services"))
    assert relative == {"surveys.models"}


def test_surveys_and_workspaces_name_no_app_above_them() -> None:
    """The two ground apps are clean: no allowlist entry may cover them."""
    for relative, _module in upward_imports():
        assert not relative.startswith(("workspaces/", "surveys/", "config/")), relative
