from __future__ import annotations

import pytest
from django.test import Client

from alerts.models import WebhookEndpoint
from tests.factories import UserFactory
from workspaces.models import Role
from workspaces.services import membership_add

pytestmark = pytest.mark.django_db


def test_the_admin_refuses_a_private_webhook_url(workspace, settings) -> None:
    settings.ALLOW_PRIVATE_WEBHOOK_TARGETS = False
    user = UserFactory()
    membership_add(workspace=workspace, user=user, role=Role.ADMIN)
    client = Client()
    client.force_login(user)
    response = client.post(
        "/admin/alerts/webhookendpoint/add/",
        {"workspace": workspace.pk, "url": "http://127.0.0.1:9000/hook", "events": "[]",
         "is_enabled": "on"},
    )  # fmt: skip
    assert response.status_code == 200  # the form again, with the error
    assert "non-public address" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_a_rule_added_in_the_admin_routes_the_next_outcome(
    workspace, outbound, django_capture_on_commit_callbacks
) -> None:
    from alerts.models import Alert, Team
    from surveys.services import session_cancel
    from tests.factories import make_session

    user = UserFactory()
    membership_add(workspace=workspace, user=user, role=Role.ADMIN)
    client = Client()
    client.force_login(user)
    team = Team.objects.create(workspace=workspace, name="Billing")
    first = make_session(workspace)
    with django_capture_on_commit_callbacks(execute=True):
        session_cancel(token=first.token)  # routing is loaded (and cached) here
    assert not Alert.objects.exists()

    response = client.post(
        "/admin/alerts/routingrule/add/",
        {"workspace": workspace.pk, "name": "All cancellations", "team": team.pk,
         "priority": 1, "is_active": "on", "categories": "[]", "reasons": "[]",
         "outcomes": '["cancelled"]', "plans": "[]", "offer_kinds": "[]"},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:300]
    second = make_session(workspace)
    with django_capture_on_commit_callbacks(execute=True):
        session_cancel(token=second.token)
    assert list(Alert.objects.values_list("session_id", "team__name")) == [(second.pk, "Billing")]


def test_contradictory_tenure_conditions_are_refused(workspace) -> None:
    from alerts.models import RoutingRule, Team

    user = UserFactory()
    membership_add(workspace=workspace, user=user, role=Role.ADMIN)
    client = Client()
    client.force_login(user)
    team = Team.objects.create(workspace=workspace, name="Success")
    response = client.post(
        "/admin/alerts/routingrule/add/",
        {"workspace": workspace.pk, "name": "Odd", "team": team.pk, "priority": 1,
         "categories": "[]", "reasons": "[]", "outcomes": '["exploded"]', "plans": "[]",
         "offer_kinds": "[]", "min_tenure_days": 90, "max_tenure_days": 30},
    )  # fmt: skip
    page = response.content.decode()
    assert response.status_code == 200
    assert "must not be below the minimum tenure" in page and "unknown outcomes" in page
    assert not RoutingRule.objects.exists()


def test_routing_rules_are_checked_like_targeting_rules(workspace) -> None:
    """The shared rule engine's validation: an unknown category and a code list
    that is not a list are refused by field, as for offers' targeting rules."""
    from alerts.models import RoutingRule, Team

    user = UserFactory()
    membership_add(workspace=workspace, user=user, role=Role.ADMIN)
    client = Client()
    client.force_login(user)
    team = Team.objects.create(workspace=workspace, name="Billing")
    response = client.post(
        "/admin/alerts/routingrule/add/",
        {"workspace": workspace.pk, "name": "Odd", "team": team.pk, "priority": 1,
         "categories": '["cheap"]', "reasons": "[]", "outcomes": "[]", "plans": '"Pro"',
         "offer_kinds": "[]", "min_mrr_cents": 9900},
    )  # fmt: skip
    page = response.content.decode()
    assert response.status_code == 200
    assert "unknown categories: cheap" in page and "a list of strings" in page
    assert not RoutingRule.objects.exists()
