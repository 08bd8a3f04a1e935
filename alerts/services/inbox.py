"""The inbox: members work the alerts their teams received."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from alerts.models import Alert, AlertChange, AlertStatus
from config.errors import Invalid

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


def alert_update(
    *,
    alert: Alert,
    user: AbstractBaseUser,
    status: str,
    assignee_id: int | None,
    note: str = "",
) -> Alert:
    """A member works an alert: status, assignee, and a note; every change is kept."""
    if status not in AlertStatus.values:
        raise Invalid(f"Unknown status {status!r}.", fields={"status": "unknown status"})
    now = timezone.now()
    with transaction.atomic():
        locked = Alert.objects.select_for_update().get(pk=alert.pk)
        note = note.strip()
        if locked.status == status and locked.assignee_id == assignee_id and not note:
            return locked
        AlertChange.objects.create(
            alert=locked,
            user_id=user.pk,
            from_status=locked.status,
            to_status=status,
            note=note,
            created_at=now,
        )
        locked.status = status
        locked.assignee_id = assignee_id
        if note:
            stamp = now.strftime("%Y-%m-%d %H:%M")
            locked.notes = f"{locked.notes}\n[{stamp} {user.get_username()}] {note}".strip()
        locked.save(update_fields=["status", "assignee", "notes", "updated_at"])
    return locked
