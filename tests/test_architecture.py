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
    "config": 0,  # infrastructure: settings, errors, the event bus, dashboard panels
    "workspaces": 1,
    "outbound": 2,  # outbox events, deliveries, attempts, transports, the sender
    "surveys": 3,
    "offers": 4,
    "alerts": 5,
    "analytics": 5,
    "privacy": 6,
    "demo": 6,  # the demo data, which needs every app
}

# The one exception for config: config/urls.py is the project's root and mounts
# each app's URLs (today by dotted string, ``include("surveys.urls")``, so it
# imports none; an import there would be allowed). config/settings.py names the
# apps only as strings (INSTALLED_APPS, the beat schedule).
ROOT_URLCONF = "config/urls.py"


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
    assert upward_imports() == [], (
        "imports against the direction workspaces < outbound < surveys < offers < ..."
    )


def test_the_checker_finds_an_upward_import(tmp_path: Path) -> None:
    """outbound importing alerts (the move it replaces) is caught."""
    source = "def f():\n    from alerts.models import Channel\n"
    modules = set(_imported_modules(ast.parse(source), "outbound.services"))
    assert modules == {"alerts.models"}
    assert LEVELS["alerts"] > LEVELS["outbound"]


def test_the_sending_machinery_names_no_model_above_it() -> None:
    """outbound's models relate only to its own and workspaces' models: not to
    sessions, alerts, channels or endpoints, not even by a string foreign key."""
    from django.apps import apps

    for model in apps.get_app_config("outbound").get_models():
        for field in model._meta.get_fields():
            related = field.related_model
            if related is None or not field.concrete:
                continue
            assert related._meta.app_label in ("outbound", "workspaces"), (model, field.name)


def test_the_checker_sees_imports_inside_functions(tmp_path: Path) -> None:
    source = "def f():\n    from offers.selectors import offer_pick\n    import alerts.tasks\n"
    modules = set(_imported_modules(ast.parse(source), "surveys"))
    assert modules == {"offers.selectors", "alerts.tasks"}
    relative = set(_imported_modules(ast.parse("from ..models import X\n"), "surveys.services"))
    assert relative == {"surveys.models"}


# Modules that are data rather than code (issue #16 allows them to be long).
DATA_MODULES = {"surveys/categorization/lexicon.py"}
MAX_MODULE_LINES = 600


def long_modules() -> list[tuple[str, int]]:
    found = []
    for _app, path in _app_files():
        relative = path.relative_to(ROOT).as_posix()
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES and relative not in DATA_MODULES:
            found.append((relative, lines))
    return found


def test_no_module_of_the_apps_is_over_600_lines() -> None:
    """One job a module: a module past 600 lines is split by concern (the
    infrastructure in config included; migrations and data modules excepted)."""
    assert long_modules() == []
    assert all(path.exists() for path in (ROOT / module for module in DATA_MODULES))
