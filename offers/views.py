"""Experiments in the web UI: the list, and one with its results per variant."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from config.errors import ServiceError
from offers.saves import durable_saves_by_variant
from offers.selectors import experiment_get, experiment_results, experiments_for_workspace
from offers.services import experiment_stop
from workspaces.access import member_required
from workspaces.models import Role


@member_required(Role.ADMIN, Role.ANALYST)
def experiments(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    return render(
        request,
        "offers/experiments.html",
        {"experiments": experiments_for_workspace(workspace=workspace)},
    )


@member_required(Role.ADMIN, Role.ANALYST)
def experiment_detail(request: HttpRequest, experiment_id: int) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    experiment = experiment_get(workspace=workspace, experiment_id=experiment_id)
    if experiment is None:
        raise Http404("No such experiment.")
    if request.method == "POST":
        if request.membership_role != Role.ADMIN:  # type: ignore[attr-defined]
            raise PermissionDenied("Only admins stop experiments.")
        try:
            winner = int(request.POST.get("winner", ""))
            experiment_stop(workspace=workspace, experiment_id=experiment.pk, winner_id=winner)
        except ValueError:
            messages.error(request, _("Choose the variant to keep."))
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request, _("The experiment is stopped; its rules now show the winner.")
            )
        return HttpResponseRedirect(
            reverse("offers-experiment", args=[workspace.slug, experiment.pk])
        )
    results = experiment_results(experiment=experiment)
    return render(
        request,
        "offers/experiment_detail.html",
        {
            "experiment": experiment,
            "results": results,
            "can_stop": request.membership_role == Role.ADMIN,  # type: ignore[attr-defined]
            **_lasting_saves(workspace, results),
        },
    )


# How many days an arm's saves must last to count in its durable save rate.
LASTING_HORIZON = 90


def _lasting_saves(workspace: Any, results: Any) -> dict[str, Any]:
    """The durable save rate of each arm (offers.saves), for its own block of the page."""
    variants = results.variants
    found = durable_saves_by_variant(
        workspace=workspace, variant_ids=[v.id for v in variants], horizon=LASTING_HORIZON
    )
    return {
        "lasting_horizon": LASTING_HORIZON,
        "lasting": [{"name": v.name, **found[v.id]} for v in variants],
    }
