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
