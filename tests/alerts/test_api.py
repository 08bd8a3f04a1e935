from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from alerts.models import WebhookEndpoint
from outbound.models import Delivery, DeliveryStatus
from surveys.services import session_cancel
from tests.alerts.conftest import make_endpoint
from tests.factories import make_api_key, make_session
from tests.receivers import Receiver

pytestmark = pytest.mark.django_db


def test_register_list_and_delete_an_endpoint(api, outbound) -> None:
    created = api.post(
        "/api/v1/webhook-endpoints",
        {"url": "https://hooks.example.com/cancel", "events": ["session.completed"]},
        format="json",
    )
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_")
    listed = api.get("/api/v1/webhook-endpoints").json()
    assert [e["id"] for e in listed] == [body["id"]]
    assert "secret" not in listed[0]  # shown once
    assert api.delete(f"/api/v1/webhook-endpoints/{body['id']}").status_code == 204
    assert api.delete(f"/api/v1/webhook-endpoints/{body['id']}").status_code == 404


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"url": "ftp://example.com/x"}, 400, "validation_error"),
        ({"url": "https://example.com", "events": ["session.exploded"]}, 400, "validation_error"),
        ({}, 400, "validation_error"),
    ],
)
def test_bad_endpoints_are_refused_clearly(api, payload, status, code) -> None:
    response = api.post("/api/v1/webhook-endpoints", payload, format="json")
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_private_targets_are_refused_at_registration(api, settings) -> None:
    settings.ALLOW_PRIVATE_WEBHOOK_TARGETS = False
    for url in ["http://127.0.0.1:8000/hook", "http://10.0.0.5/hook", "http://[::1]/x"]:
        response = api.post("/api/v1/webhook-endpoints", {"url": url}, format="json")
        assert response.status_code == 422, url
        assert response.json()["error"]["code"] == "url_refused"
    assert not WebhookEndpoint.objects.exists()


def test_another_workspaces_endpoint_is_a_404(api, other_workspace) -> None:
    theirs = make_endpoint(other_workspace, "https://globex.example.com/hook")
    assert api.delete(f"/api/v1/webhook-endpoints/{theirs.pk}").status_code == 404
    assert api.get("/api/v1/webhook-endpoints").json() == []
    assert WebhookEndpoint.objects.filter(pk=theirs.pk).exists()


def test_dead_deliveries_are_listed_and_can_be_retried_by_hand(
    workspace, api, outbound, django_capture_on_commit_callbacks
) -> None:
    receiver = Receiver.start(statuses=[500] * 4)
    try:
        make_endpoint(workspace, receiver.url)
        session = make_session(workspace)
        with django_capture_on_commit_callbacks(execute=True):
            session_cancel(token=session.token)
        dead = api.get("/api/v1/deliveries?status=dead").json()
        assert len(dead) == 1 and dead[0]["attempts"] == 4
        assert [a["status_code"] for a in dead[0]["attempt_log"]] == [500] * 4
        with django_capture_on_commit_callbacks(execute=True):
            retried = api.post(f"/api/v1/deliveries/{dead[0]['id']}/retry")
        assert retried.status_code == 202
    finally:
        receiver.stop()
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 5
    assert len(receiver.requests) == 5
    again = api.post(f"/api/v1/deliveries/{delivery.pk}/retry")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "delivery_not_dead"


def test_deliveries_of_another_workspace_are_invisible(
    workspace, other_workspace, outbound, django_capture_on_commit_callbacks
) -> None:
    receiver = Receiver.start(statuses=[500] * 4)
    try:
        make_endpoint(other_workspace, receiver.url)
        session = make_session(other_workspace)
        with django_capture_on_commit_callbacks(execute=True):
            session_cancel(token=session.token)
    finally:
        receiver.stop()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(workspace)}")
    assert client.get("/api/v1/deliveries").json() == []
    theirs = Delivery.objects.get()
    assert client.post(f"/api/v1/deliveries/{theirs.pk}/retry").status_code == 404
    assert client.get("/api/v1/deliveries?status=exploded").status_code == 400
