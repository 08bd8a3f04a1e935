"""The host's webhook endpoints: registering one (its address vetted by the
outbound guard) and deleting it. Sending to them is ``outbound``'s
(``alerts.transports.endpoint``)."""

from __future__ import annotations

from django.db import transaction

from alerts.models import EventType, WebhookEndpoint
from config.errors import Invalid, NotFound
from outbound.transports.base import TransportError
from outbound.transports.http import check_target
from workspaces.models import Workspace
from workspaces.services import workspace_config_bump

# --- Webhook endpoints -----------------------------------------------------------


def webhook_url_validate(url: str) -> None:
    try:
        check_target(url)
    except TransportError as exc:
        raise Invalid(exc.message, code="url_refused", fields={"url": exc.message}) from None


def webhook_endpoint_create(
    *, workspace: Workspace, url: str, events: list[str]
) -> WebhookEndpoint:
    """Register the host's endpoint; its secret is returned once, at creation."""
    unknown = [e for e in events if e not in EventType.values]
    if unknown:
        raise Invalid(
            "Unknown event types.",
            code="validation_error",
            fields={
                "events": f"unknown: {', '.join(unknown)}; known: {', '.join(EventType.values)}"
            },
        )
    webhook_url_validate(url)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(workspace=workspace, url=url, events=list(events))
        workspace_config_bump(workspace_id=workspace.pk)
    return endpoint


def webhook_endpoint_delete(*, workspace: Workspace, endpoint_id: int) -> None:
    with transaction.atomic():
        deleted, _ = WebhookEndpoint.objects.filter(workspace=workspace, pk=endpoint_id).delete()
        if not deleted:
            raise NotFound("No such webhook endpoint.", code="endpoint_not_found")
        workspace_config_bump(workspace_id=workspace.pk)
