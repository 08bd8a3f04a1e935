"""One Idempotency-Key sent by many requests at once (real PostgreSQL).

With different bodies exactly one request opens a session and every other one gets
409 ``idempotency_key_reused``: never the winner's session, token or customer.
With the same body every request gets the one session.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from surveys.models import CancelSession, SessionIdempotencyKey
from tests.factories import make_api_key, make_workspace

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 20


def _body(n: int, *, subscription: str = "") -> dict[str, Any]:
    return {
        "customer": {"id": f"cus_{n}", "email": f"customer{n}@example.com", "name": f"C {n}"},
        "subscription": {"id": subscription or f"sub_{n}", "plan": "Pro", "mrr_cents": 4900 + n},
    }


def _race(api_key: str, bodies: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """POST every body at once with one Idempotency-Key; (status, json) per body."""
    start = threading.Barrier(len(bodies))
    results: list[tuple[int, dict[str, Any]] | None] = [None] * len(bodies)
    errors: list[BaseException] = []

    def post(index: int) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
        try:
            start.wait(timeout=30)
            response = client.post(
                "/api/v1/sessions",
                bodies[index],
                format="json",
                HTTP_IDEMPOTENCY_KEY="cancel-race-1",
            )
            results[index] = (response.status_code, response.json())
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert all(result is not None for result in results)
    return [result for result in results if result is not None]


@pytest.fixture
def _no_alert_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("outbound.services.task_queue", lambda *args, **kwargs: None)


@pytest.mark.usefixtures("_no_alert_tasks")
@pytest.mark.parametrize("subscription", ["", "sub_shared"], ids=["own-subs", "one-sub"])
def test_one_key_with_different_bodies_opens_one_session_and_refuses_the_rest(
    subscription: str,
) -> None:
    """Distinct subscriptions and emails, or one subscription with distinct customers."""
    workspace = make_workspace(slug="idem-race")
    bodies = [_body(n, subscription=subscription) for n in range(THREADS)]

    results = _race(make_api_key(workspace), bodies)

    statuses = Counter(status for status, _ in results)
    print(f"\ndifferent bodies ({subscription or 'own subs'}): {dict(sorted(statuses.items()))}")
    assert statuses == {201: 1, 409: THREADS - 1}
    sessions = CancelSession.objects.filter(workspace=workspace)
    assert sessions.count() == 1
    assert SessionIdempotencyKey.objects.filter(workspace=workspace).count() == 1
    winner = sessions.get()
    for body, (status, data) in zip(bodies, results, strict=True):
        if status == 409:
            assert data["error"]["code"] == "idempotency_key_reused"
            assert winner.token not in str(data)
        else:
            # The one success is the session made from this request's own body.
            assert data["id"] == str(winner.pk) and data["token"] == winner.token
            assert winner.customer_email == body["customer"]["email"]
            assert winner.subscription_id == body["subscription"]["id"]


@pytest.mark.usefixtures("_no_alert_tasks")
def test_one_key_with_the_same_body_gives_everyone_the_one_session() -> None:
    workspace = make_workspace(slug="idem-same")

    results = _race(make_api_key(workspace), [_body(7)] * THREADS)

    statuses = Counter(status for status, _ in results)
    print(f"\nsame body: {dict(sorted(statuses.items()))}")
    assert set(statuses) == {201}
    assert len({data["id"] for _, data in results}) == 1
    assert len({data["token"] for _, data in results}) == 1
    assert CancelSession.objects.filter(workspace=workspace).count() == 1
