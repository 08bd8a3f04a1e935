"""Experiments API (v1): list, one with its results, stop with a winner. Views
validate, call a service or selector, serialise."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import NotFound
from offers.models import Experiment
from offers.selectors import (
    ExperimentResults,
    experiment_get,
    experiment_results,
    experiments_for_workspace,
)
from offers.services import experiment_stop
from workspaces.authentication import api_workspace


class ExperimentOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.CharField()
    winner = serializers.IntegerField(source="winner_id", allow_null=True)
    created_at = serializers.DateTimeField()
    stopped_at = serializers.DateTimeField(allow_null=True)


class ExperimentListOut(ExperimentOut):
    shown = serializers.IntegerField(help_text="Sessions assigned to a variant and answered.")


class VariantResultOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    offer_id = serializers.IntegerField(allow_null=True)
    offer_name = serializers.CharField()
    weight = serializers.IntegerField()
    is_control = serializers.BooleanField()
    is_winner = serializers.BooleanField()
    shown = serializers.IntegerField()
    accepted = serializers.IntegerField()
    save_rate = serializers.FloatField(allow_null=True)
    interval = serializers.ListField(
        child=serializers.FloatField(), allow_null=True, help_text="95% Wilson interval."
    )
    difference = serializers.FloatField(allow_null=True, help_text="Save rate minus control's.")
    z = serializers.FloatField(allow_null=True)
    p_value = serializers.FloatField(allow_null=True, help_text="Two-proportion z-test.")
    mrr_saved_cents = serializers.IntegerField()


class ExperimentDetailOut(ExperimentOut):
    variants = VariantResultOut(many=True)


def _detail(results: ExperimentResults) -> dict[str, Any]:
    data: dict[str, Any] = dict(ExperimentOut(results.experiment).data)
    data["variants"] = [
        {**VariantResultOut(v).data, "interval": list(v.interval) if v.interval else None}
        for v in results.variants
    ]
    return data


def _experiment_or_404(request: Request, experiment_id: int) -> Experiment:
    experiment = experiment_get(workspace=api_workspace(request), experiment_id=experiment_id)
    if experiment is None:
        raise NotFound("No such experiment in this workspace.", code="experiment_not_found")
    return experiment


class ExperimentListApi(APIView):
    @extend_schema(responses=ExperimentListOut(many=True), summary="List experiments")
    def get(self, request: Request) -> Response:
        experiments = experiments_for_workspace(workspace=api_workspace(request))
        return Response(ExperimentListOut(experiments, many=True).data)


class ExperimentDetailApi(APIView):
    @extend_schema(
        responses=ExperimentDetailOut,
        summary="One experiment with its results per variant",
    )
    def get(self, request: Request, experiment_id: int) -> Response:
        experiment = _experiment_or_404(request, experiment_id)
        return Response(_detail(experiment_results(experiment=experiment)))


class StopIn(serializers.Serializer):
    winner = serializers.IntegerField(help_text="The id of the variant to keep.")


class ExperimentStopApi(APIView):
    @extend_schema(
        request=StopIn,
        responses=ExperimentDetailOut,
        summary="Stop an experiment, keeping the winner (its rules then show the winner's offer)",
    )
    def post(self, request: Request, experiment_id: int) -> Response:
        data = StopIn(data=request.data)
        data.is_valid(raise_exception=True)
        workspace = api_workspace(request)
        experiment_stop(
            workspace=workspace,
            experiment_id=experiment_id,
            winner_id=data.validated_data["winner"],
        )
        experiment = _experiment_or_404(request, experiment_id)
        return Response(_detail(experiment_results(experiment=experiment)))
