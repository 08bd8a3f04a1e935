"""At most 5 queries a request on the flow's hot path (issue 16): the hosted
pages and opening a session, next to the flow API's own budget
(``test_flow_api.py::test_flow_query_counts``)."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from surveys.models import CancelSession, Outcome, SessionStatus
from tests.factories import make_offer, make_session
from tests.queries import max_queries


@pytest.mark.django_db(transaction=True)
def test_hosted_pages_stay_within_five_queries(monkeypatch) -> None:
    from tests.factories import make_workspace

    monkeypatch.setattr("outbound.services.task_queue", lambda task, *a, **kw: None)
    workspace = make_workspace()
    offer = make_offer(workspace)
    session = make_session(workspace, locale="en")
    # The offer rules are read once per configuration version; warm them.
    Client().post(f"/c/{make_session(workspace).token}/", {"reason": "too_expensive"})
    client = Client()
    with max_queries(5):
        page = client.get(f"/c/{session.token}/")
    assert page.status_code == 200 and b"too_expensive" in page.content
    with max_queries(5):
        answered = client.post(f"/c/{session.token}/", {"reason": "too_expensive"})
    assert answered.status_code == 302
    with max_queries(5):
        assert client.get(f"/c/{session.token}/offer/").status_code == 200
    with max_queries(5):
        accepted = client.post(f"/c/{session.token}/accept/", {"offer": offer.pk})
    assert accepted.status_code == 302
    assert CancelSession.objects.get(pk=session.pk).outcome == Outcome.SAVED
    other = make_session(workspace, locale="en")
    with max_queries(5):
        assert client.post(f"/c/{other.token}/cancel/").status_code == 302
    assert CancelSession.objects.get(pk=other.pk).outcome == Outcome.CANCELLED


def test_opening_a_session_stays_within_five_queries(api: APIClient) -> None:
    body = {"customer": {"id": "cus_q"}, "subscription": {"id": "sub_q", "plan": "Pro"}}
    api.post("/api/v1/sessions", {**body, "subscription": {"id": "sub_warm"}}, format="json")
    with max_queries(5):
        created = api.post("/api/v1/sessions", body, format="json")
    assert created.status_code == 201
    with max_queries(5):
        again = api.post("/api/v1/sessions", body, format="json")
    assert again.status_code == 200 and again.json()["token"] == created.json()["token"]
    assert CancelSession.objects.get(token=created.json()["token"]).status == SessionStatus.STARTED
