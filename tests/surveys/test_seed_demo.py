from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from surveys.models import CancelSession, Outcome, Response


def test_seed_demo_json_gives_working_credentials(db: None) -> None:
    out = StringIO()
    call_command("seed_demo", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert {"workspace", "api_key", "identity_secret", "username", "password"} <= set(data)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {data['api_key']}")
    assert client.get("/api/v1/sessions").status_code == 200
    assert client.login(username=data["username"], password=data["password"])
    assert client.get("/admin/surveys/cancelsession/").status_code == 200
    # Running it again keeps one workspace and hands out a fresh key.
    again = StringIO()
    call_command("seed_demo", "--json", stdout=again)
    second = json.loads(again.getvalue())
    assert second["workspace"] == data["workspace"]
    assert second["api_key"] != data["api_key"]


def test_history_is_a_believable_mix(db: None) -> None:
    call_command("seed_demo", "--history", "600", "--seed", "7", stdout=StringIO())
    history = CancelSession.objects.filter(customer_id__startswith="cus_hist_")
    assert history.count() == 600
    outcomes = {o: history.filter(outcome=o).count() for o in Outcome.values}
    assert outcomes[Outcome.ABANDONED] > 20
    assert outcomes[Outcome.SAVED] > 10
    assert outcomes[Outcome.CANCELLED] > outcomes[Outcome.SAVED]
    answers = Response.objects.filter(session__in=history)
    assert answers.count() == 600 - outcomes[Outcome.ABANDONED]
    assert answers.filter(locale="zh-hans").exists() and answers.filter(locale="en").exists()
    assert answers.exclude(text="").count() > 100
    assert answers.values("category").distinct().count() >= 8
    assert history.values("plan").distinct().count() == 4


def test_bad_history_count_is_refused(db: None) -> None:
    with pytest.raises(CommandError):
        call_command("seed_demo", "--history", "-5", stdout=StringIO())
