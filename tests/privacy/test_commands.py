from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from privacy.models import ErasureRecord
from privacy.services import customer_pseudonym
from surveys.models import CancelSession
from tests.factories import UserFactory
from tests.privacy.conftest import CUSTOMER, EMAIL, NAME, WORDS_SAVED, Held

pytestmark = pytest.mark.django_db


def run(*args: str, **options: Any) -> str:
    out = StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


def test_customer_export_prints_the_same_document_as_the_api(held: Held, api: Any) -> None:
    printed = json.loads(run("customer_export", "--workspace", "acme", CUSTOMER))
    served = api.get(f"/api/v1/customers/{CUSTOMER}/export").json()
    for document in (printed, served):
        document.pop("exported_at")
    assert printed == served
    assert printed["sessions"][0]["answer"]["text"] == WORDS_SAVED


def test_customer_export_writes_a_file(held: Held, tmp_path: Path) -> None:
    target = tmp_path / "erin.json"
    out = run("customer_export", "--workspace", "acme", CUSTOMER, "--output", str(target))
    assert out.strip() == f"Wrote 2 session(s) to {target}."
    document = json.loads(target.read_text(encoding="utf-8"))
    assert document["sessions"][1]["customer"]["name"] == NAME


def test_commands_name_what_is_wrong(held: Held, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="No workspace with the slug 'nope'"):
        run("customer_export", "--workspace", "nope", CUSTOMER)
    with pytest.raises(CommandError, match="Nothing is held about this customer"):
        run("customer_export", "--workspace", "acme", "cus_nobody")
    with pytest.raises(CommandError, match="Nothing is held about this customer"):
        run("customer_erase", "--workspace", "globex", "cus_neighbour", "--yes")
    with pytest.raises(CommandError, match="Cannot write"):
        run("customer_export", "--workspace", "acme", CUSTOMER, "--output", str(tmp_path))


def test_customer_erase_asks_first(held: Held, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    with pytest.raises(CommandError, match="Nothing erased"):
        run("customer_erase", "--workspace", "acme", CUSTOMER)
    assert CancelSession.objects.filter(customer_email=EMAIL).count() == 2

    asked = []
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or "yes")
    out = run("customer_erase", "--workspace", "acme", CUSTOMER)
    assert "2 session(s)" in asked[0]
    pseudonym = customer_pseudonym(workspace_id=held.workspace.pk, customer_id=CUSTOMER)
    assert f"Erased; the customer is now {pseudonym}." in out
    assert "  sessions: 2\n" in out and "  answers: 2\n" in out
    assert not CancelSession.objects.filter(customer_email=EMAIL).exists()


def test_customer_erase_without_a_terminal_needs_yes(
    held: Held, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_terminal(prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr("builtins.input", no_terminal)
    with pytest.raises(CommandError, match="confirm with --yes"):
        run("customer_erase", "--workspace", "acme", CUSTOMER)
    assert CancelSession.objects.filter(customer_email=EMAIL).count() == 2


def test_customer_erase_records_who_asked(held: Held) -> None:
    UserFactory(username="dpo")
    out = run("customer_erase", "--workspace", "acme", CUSTOMER, "--yes", "--user", "dpo")
    record = ErasureRecord.objects.get()
    assert f"Audit record #{record.pk}." in out
    assert (record.erased_by, record.actor, record.user.username) == ("user", "dpo", "dpo")
    assert record.counts["sessions"] == 2 and record.customers == 1

    out = run("customer_erase", "--workspace", "acme", CUSTOMER, "--yes")
    latest = ErasureRecord.objects.order_by("-pk").first()
    assert latest is not None and latest.erased_by == "command"
    assert latest.actor.startswith("customer_erase (")
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        run("customer_erase", "--workspace", "acme", CUSTOMER, "--yes", "--user", "ghost")
