"""Routing: which teams hear about a session. The conditions, their validation
and the matching are the shared rule engine's (``surveys.rules``); the rules are
loaded and cached per configuration version by ``alerts.selectors.routing_config``.
"""

from __future__ import annotations

from typing import Any

from alerts.models import RoutingRule
from alerts.selectors import RouteConfig
from surveys.rules import ROUTING, SessionFacts, conditions_match, conditions_validate


def routing_match(*, rules: list[RouteConfig], facts: SessionFacts) -> list[RoutingRule]:
    """The matching rules, by priority, one per team, up to a stop-after-match."""
    matched: list[RoutingRule] = []
    teams: set[int] = set()
    for route in sorted(rules, key=lambda r: (r.rule.priority, r.rule.pk)):
        rule = route.rule
        if not rule.is_active or not conditions_match(route.conditions, facts):
            continue
        if rule.team_id not in teams:
            matched.append(rule)
            teams.add(rule.team_id)
        if rule.stop_after_match:
            break
    return matched


def routing_rule_validate(**conditions: Any) -> dict[str, str]:
    """Errors of a routing rule's conditions, by field (empty when valid); only
    the conditions given are checked (the rule engine's validation)."""
    unknown = set(conditions) - set(ROUTING.allowed)
    if unknown:
        raise TypeError(f"Not conditions of a routing rule: {sorted(unknown)}")
    return conditions_validate(ROUTING, conditions)
