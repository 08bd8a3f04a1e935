"""A new workspace's teams, email channels and routing rules."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from alerts.models import Channel, RoutingRule, Team
from workspaces.models import Workspace
from workspaces.services import workspace_config_bump

RuleSpec = tuple[str, int, dict[str, Any]]
DEFAULT_TEAMS: list[tuple[str, str, list[RuleSpec]]] = [
    # (name, mailbox, rules: (name, priority, conditions))
    (
        "Customer success",
        "success",
        [
            (
                "High-value customer at risk",
                10,
                {
                    "outcomes": ["cancelled", "abandoned"],
                    "min_mrr_cents": 9900,
                    "min_risk_score": 60,
                },
            )
        ],
    ),
    (
        "Support",
        "support",
        [
            ("Complaint about our service", 20, {"categories": ["customer_service"]}),
            ("Customer asked to talk to support", 20, {"offer_kinds": ["support"]}),
        ],
    ),
    (
        "Product",
        "product",
        [
            (
                "Quality, missing features or too complex",
                30,
                {
                    "categories": ["product_quality", "missing_features", "too_complex"],
                    "outcomes": ["cancelled"],
                },
            )
        ],
    ),
    ("Billing", "billing", [("Left over price", 40, {"categories": ["price"]})]),
]


def routing_defaults_create(*, workspace: Workspace, email_domain: str) -> list[Team]:
    """Sensible teams, email channels and routing rules for a new workspace:
    success hears about high-value customers at risk, support about service
    complaints and callback requests, product about quality and missing features,
    billing about price."""
    teams = []
    with transaction.atomic():
        for name, mailbox, rules in DEFAULT_TEAMS:
            # The product team reads the weekly digest of reasons and verbatims.
            team, _ = Team.objects.get_or_create(
                workspace=workspace,
                name=name,
                defaults={"receives_digest": name == "Product"},
            )
            if not team.channels.exists():
                Channel.objects.create(team=team, kind="email", target=f"{mailbox}@{email_domain}")
            for rule_name, priority, conditions in rules:
                RoutingRule.objects.get_or_create(
                    workspace=workspace,
                    name=rule_name,
                    defaults={"team": team, "priority": priority, **conditions},
                )
            teams.append(team)
        workspace_config_bump(workspace_id=workspace.pk)
    return teams
