"""Panels that an app adds to the workspace dashboard without the dashboard
(``analytics``) importing it: an app registers a ``DashboardPanel`` in its
``AppConfig.ready`` (alerts: the at-risk alerts raised for the period's
sessions), and the dashboard renders each registered panel's template with its
context, in ``order``. Like the event bus, this module imports no app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class DashboardPanel:
    name: str
    template: str
    # (workspace, since, until) -> the template's context; the period's bounds
    # are the dashboard's filters (sessions started in [since, until)).
    context: Callable[[Any, datetime, datetime], dict[str, Any]]
    order: int = 100


_PANELS: dict[str, DashboardPanel] = {}


def dashboard_panel_register(panel: DashboardPanel) -> None:
    _PANELS[panel.name] = panel


def dashboard_panels() -> list[DashboardPanel]:
    return sorted(_PANELS.values(), key=lambda panel: (panel.order, panel.name))
