from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from privacy.models import ErasureRecord
from tests.factories import UserFactory
from tests.privacy.conftest import CUSTOMER, Held
from workspaces.models import Role
from workspaces.services import membership_add

pytestmark = pytest.mark.django_db


def test_erasure_records_are_shown_read_only_to_their_workspace(
    held: Held, api: Any, other_workspace: Any
) -> None:
    api.delete(f"/api/v1/customers/{CUSTOMER}")
    record = ErasureRecord.objects.get()
    user = UserFactory()
    membership_add(workspace=held.workspace, user=user, role=Role.ADMIN)
    client = Client()
    client.force_login(user)

    listing = client.get("/admin/privacy/erasurerecord/")
    assert listing.status_code == 200 and record.pseudonym in listing.content.decode()
    detail = client.get(f"/admin/privacy/erasurerecord/{record.pk}/change/")
    assert detail.status_code == 200
    page = detail.content.decode()
    assert record.pseudonym in page and 'name="_save"' not in page
    assert client.get("/admin/privacy/erasurerecord/add/").status_code == 403
    assert client.post(f"/admin/privacy/erasurerecord/{record.pk}/delete/").status_code == 403
    assert ErasureRecord.objects.filter(pk=record.pk).exists()

    outsider = UserFactory()
    membership_add(workspace=other_workspace, user=outsider, role=Role.ADMIN)
    client.force_login(outsider)
    assert record.pseudonym not in client.get("/admin/privacy/erasurerecord/").content.decode()
    assert client.get(f"/admin/privacy/erasurerecord/{record.pk}/change/").status_code == 302
