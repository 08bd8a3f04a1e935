"""The digest's subject carries the workspace's name: one line, whatever was typed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from analytics.digest import digest_send
from tests.analytics.test_digest import make_digest_team
from tests.factories import make_workspace


@pytest.mark.django_db
def test_a_line_break_in_the_workspace_name_stays_out_of_the_subject(mailoutbox) -> None:
    workspace = make_workspace(name="Acme\r\nBcc: x@example.com", slug="acme")
    make_digest_team(workspace, "Product", "product@acme.test")
    run = digest_send(
        workspace=workspace,
        week_start=date(2026, 11, 16),
        now=datetime(2026, 11, 23, 16, tzinfo=UTC),
    )
    assert run is not None and run.sent_at is not None
    [email] = mailoutbox
    assert email.subject == "Why customers left: week of 2026-11-16 (Acme Bcc: x@example.com)"
    assert email.message()["Bcc"] is None
    assert email.to == ["product@acme.test"]
