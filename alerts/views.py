"""The at-risk inbox: a team's alerts, newest first, and the work done on each."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from alerts.content import alert_context
from alerts.models import AlertStatus
from alerts.selectors import (
    alert_deliveries,
    alert_detail,
    alerts_for_inbox,
    teams_for_workspace,
)
from alerts.services import alert_update
from config.errors import ServiceError
from workspaces.access import member_required
from workspaces.models import Role

# Who works the inbox: support, and admins, who may do everything.
WORKERS = (Role.ADMIN, Role.SUPPORT)


class AlertForm(forms.Form):
    status = forms.ChoiceField(label=gettext_lazy("Status"), choices=AlertStatus.choices)
    assignee = forms.TypedChoiceField(
        label=gettext_lazy("Assignee"), coerce=int, required=False, empty_value=None
    )
    note = forms.CharField(
        label=gettext_lazy("Add a note"), required=False, max_length=2000, widget=forms.Textarea
    )

    def __init__(self, *args: Any, members: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assignee = self.fields["assignee"]
        assert isinstance(assignee, forms.TypedChoiceField)
        assignee.choices = [("", "—"), *members]


def _members(workspace: Any) -> list[tuple[int, str]]:
    users = get_user_model().objects.filter(memberships__workspace=workspace).order_by("username")
    return [(user.pk, user.get_username()) for user in users]


@member_required(*WORKERS)
def inbox(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    teams = list(teams_for_workspace(workspace=workspace))
    try:
        team_id = int(request.GET.get("team") or 0) or None
    except ValueError:
        team_id = None
    status = request.GET.get("status") or None
    if status not in AlertStatus.values:
        status = None
    page = Paginator(
        alerts_for_inbox(workspace=workspace, team_id=team_id, status=status), 50
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "alerts/inbox.html",
        {
            "page": page,
            "teams": teams,
            "team_id": team_id,
            "status": status,
            "statuses": AlertStatus.choices,
        },
    )


@member_required(*WORKERS)
def inbox_detail(request: HttpRequest, alert_id: int) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    alert = alert_detail(workspace=workspace, alert_id=alert_id)
    if alert is None:
        raise Http404("No such alert.")
    members = _members(workspace)
    form = AlertForm(
        request.POST or None,
        members=members,
        initial={"status": alert.status, "assignee": alert.assignee_id},
    )
    if request.method == "POST" and form.is_valid():
        try:
            alert_update(
                alert=alert,
                user=request.user,  # type: ignore[arg-type]
                status=form.cleaned_data["status"],
                assignee_id=form.cleaned_data["assignee"],
                note=form.cleaned_data["note"],
            )
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Saved."))
            return HttpResponseRedirect(
                reverse("alerts-inbox-detail", args=[workspace.slug, alert.pk])
            )
    return render(
        request,
        "alerts/inbox_detail.html",
        {
            "alert": alert,
            "facts": alert_context(alert),
            "form": form,
            "changes": alert.changes.all(),
            "deliveries": alert_deliveries(alert),
        },
        status=400 if form.errors else 200,
    )
