"""Offers API (v1): offers, targeting rules, experiments (list, one with its
results, stop with a winner). Views validate, call a service or selector,
serialise."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import Invalid, NotFound
from config.limits import BIGINT_MAX, INT_MAX, SMALLINT_MAX
from config.openapi import error_responses, link, response_links
from config.storable import has_unstorable_text
from offers.models import Experiment, Offer, OfferKind, OfferRule
from offers.selectors import (
    ExperimentResults,
    experiment_get,
    experiment_results,
    experiments_for_workspace,
)
from offers.services import experiment_create, experiment_stop, offer_create, offer_rule_create
from surveys.rules import TARGETING
from workspaces.authentication import api_workspace


class ExperimentOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.CharField()
    winner = serializers.IntegerField(source="winner_id", allow_null=True)
    created_at = serializers.DateTimeField()
    stopped_at = serializers.DateTimeField(allow_null=True)


class ExperimentListOut(ExperimentOut):
    assigned = serializers.IntegerField(
        help_text="Customers assigned to a variant (they reached the offer step)."
    )


class VariantResultOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    offer_id = serializers.IntegerField(allow_null=True)
    offer_name = serializers.CharField()
    weight = serializers.IntegerField()
    is_control = serializers.BooleanField()
    is_winner = serializers.BooleanField()
    assigned = serializers.IntegerField(
        help_text="Customers assigned to this arm: they answered and reached the offer step."
    )
    accepted = serializers.IntegerField(help_text="Took the arm's offer.")
    kept = serializers.IntegerField(help_text="Stayed (outcome saved), with or without the offer.")
    cancelled = serializers.IntegerField()
    abandoned = serializers.IntegerField()
    cancel_rate = serializers.FloatField(
        allow_null=True, help_text="cancelled / assigned: the figure an arm is judged on."
    )
    cancel_interval = serializers.ListField(
        child=serializers.FloatField(),
        allow_null=True,
        help_text="95% Wilson interval of the cancel rate.",
    )
    difference = serializers.FloatField(
        allow_null=True, help_text="Cancel rate minus the control's (negative: fewer cancel)."
    )
    z = serializers.FloatField(allow_null=True)
    p_value = serializers.FloatField(
        allow_null=True, help_text="Two-sided two-proportion z-test of the cancel rates."
    )
    sample_needed = serializers.IntegerField(
        allow_null=True,
        help_text="Customers each arm needs to find the difference observed with 80% power "
        "(two-sided, 5%); null without a difference.",
    )
    accept_rate = serializers.FloatField(allow_null=True, help_text="accepted / assigned.")
    accept_interval = serializers.ListField(
        child=serializers.FloatField(),
        allow_null=True,
        help_text="95% Wilson interval of the accept rate.",
    )
    mrr_kept_cents = serializers.IntegerField(help_text="MRR of the customers who stayed.")
    reading = serializers.ChoiceField(
        choices=[
            "control",
            "no_control",
            "too_early",
            "fewer_cancellations",
            "more_cancellations",
            "no_difference",
        ],
        help_text="What the figures say against the control; too_early until this arm and "
        "the control each have minimum_sample customers.",
    )


class ExperimentDetailOut(ExperimentOut):
    variants = VariantResultOut(many=True)
    minimum_sample = serializers.IntegerField(
        help_text="Customers an arm and the control each need before either is called better."
    )
    better = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="The variants with significantly fewer cancellations than the control, "
        "once the minimum sample is reached; fewest cancellations first.",
    )
    suggested = serializers.IntegerField(
        allow_null=True,
        help_text="The first of `better` when it also has significantly fewer cancellations "
        "than each of the others; else null.",
    )


def _detail(results: ExperimentResults) -> dict[str, Any]:
    data: dict[str, Any] = dict(ExperimentOut(results.experiment).data)
    data["variants"] = [
        {
            **VariantResultOut(v).data,
            "cancel_interval": list(v.cancel_interval) if v.cancel_interval else None,
            "accept_interval": list(v.accept_interval) if v.accept_interval else None,
        }
        for v in results.variants
    ]
    data["minimum_sample"] = results.minimum_sample
    data["better"] = results.better_ids
    data["suggested"] = results.suggested_id
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
    winner = serializers.IntegerField(
        min_value=1, max_value=BIGINT_MAX, help_text="The id of the variant to keep."
    )


class ExperimentStopApi(APIView):
    @extend_schema(
        request=StopIn,
        responses={200: ExperimentDetailOut, **error_responses(409, 422)},
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


# --- Offers and targeting rules ---------------------------------------------------------


class OfferIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=OfferKind.values)
    terms = serializers.DictField(required=False, default=dict)
    copy = serializers.DictField(
        child=serializers.DictField(child=serializers.CharField(allow_blank=True)),
        required=False,
        default=dict,
        help_text='Per locale: {"en": {"title", "body"}, "zh-hans": {…}}',
    )
    max_uses_per_customer = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=SMALLINT_MAX
    )


class OfferOut(serializers.ModelSerializer):
    class Meta:
        model = Offer
        fields = ["id", "name", "kind", "terms", "copy", "max_uses_per_customer", "is_active"]


class OfferListApi(APIView):
    @extend_schema(responses=OfferOut(many=True), summary="List offers")
    def get(self, request: Request) -> Response:
        offers = Offer.objects.filter(workspace=api_workspace(request)).order_by("id")
        return Response(OfferOut(offers, many=True).data)

    @extend_schema(
        request=OfferIn,
        responses={201: OfferOut, **error_responses(422)},
        summary="Create an offer",
    )
    def post(self, request: Request) -> Response:
        data = OfferIn(data=request.data)
        data.is_valid(raise_exception=True)
        offer = offer_create(workspace=api_workspace(request), **data.validated_data)
        return Response(OfferOut(offer).data, status=status.HTTP_201_CREATED)


class RuleIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    offer = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=BIGINT_MAX
    )
    experiment = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=BIGINT_MAX
    )
    reasons = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, default=list
    )
    categories = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, default=list
    )
    plans = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, default=list
    )
    locales = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, default=list
    )
    metadata = serializers.DictField(required=False, default=dict)
    min_mrr_cents = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=0, max_value=BIGINT_MAX
    )
    max_mrr_cents = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=0, max_value=BIGINT_MAX
    )
    min_tenure_days = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=0, max_value=INT_MAX
    )
    max_tenure_days = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=0, max_value=INT_MAX
    )
    priority = serializers.IntegerField(
        required=False, default=100, min_value=0, max_value=SMALLINT_MAX
    )

    def validate_metadata(self, value: dict[str, Any]) -> dict[str, Any]:
        if has_unstorable_text(value):
            raise serializers.ValidationError("No NUL characters or lone surrogates.")
        return value


class RuleOut(serializers.ModelSerializer):
    class Meta:
        model = OfferRule
        fields = [
            "id",
            "name",
            "priority",
            "offer",
            "experiment",
            *TARGETING.allowed,
            "is_active",
        ]


class OfferRuleListApi(APIView):
    @extend_schema(responses=RuleOut(many=True), summary="List targeting rules, by priority")
    def get(self, request: Request) -> Response:
        rules = OfferRule.objects.filter(workspace=api_workspace(request)).order_by(
            "priority", "id"
        )
        return Response(RuleOut(rules, many=True).data)

    @extend_schema(
        request=RuleIn,
        responses={201: RuleOut, **error_responses(422)},
        summary="Create a targeting rule (contradictory conditions are refused with 422)",
    )
    def post(self, request: Request) -> Response:
        data = RuleIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        workspace = api_workspace(request)
        offer_id, experiment_id = values.pop("offer"), values.pop("experiment")
        offer = experiment = None
        if offer_id is not None:
            offer = Offer.objects.filter(workspace=workspace, pk=offer_id).first()
            if offer is None:
                raise Invalid("No such offer.", code="unknown_offer", fields={"offer": "unknown"})
        if experiment_id is not None:
            experiment = experiment_get(workspace=workspace, experiment_id=experiment_id)
            if experiment is None:
                raise Invalid(
                    "No such experiment.",
                    code="unknown_experiment",
                    fields={"experiment": "unknown"},
                )
        rule = offer_rule_create(workspace=workspace, offer=offer, experiment=experiment, **values)
        return Response(RuleOut(rule).data, status=status.HTTP_201_CREATED)


class VariantIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    offer = serializers.IntegerField(
        allow_null=True, min_value=1, max_value=BIGINT_MAX, help_text="null: the no-offer control."
    )
    weight = serializers.IntegerField(min_value=0, max_value=1000, default=1)


class ExperimentIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    variants = VariantIn(many=True)


class ExperimentCreateApi(ExperimentListApi):
    @extend_schema(
        request=ExperimentIn,
        responses={201: ExperimentDetailOut, **error_responses(422)},
        summary="Create a running experiment (point a rule at it to start it)",
        extensions=response_links(
            detail=link("v1_experiments_retrieve", experiment_id="$response.body#/id"),
            stop=link("v1_experiments_stop_create", experiment_id="$response.body#/id"),
        ),
    )
    def post(self, request: Request) -> Response:
        data = ExperimentIn(data=request.data)
        data.is_valid(raise_exception=True)
        workspace = api_workspace(request)
        ids = [v["offer"] for v in data.validated_data["variants"] if v["offer"] is not None]
        offers = {o.pk: o for o in Offer.objects.filter(workspace=workspace, pk__in=ids)}
        unknown = sorted(set(ids) - set(offers))
        if unknown:
            raise Invalid(
                "Unknown offers in the variants.",
                code="unknown_offer",
                fields={"variants": f"unknown offers: {unknown}"},
            )
        experiment = experiment_create(
            workspace=workspace,
            name=data.validated_data["name"],
            variants=[
                (v["name"], offers.get(v["offer"]) if v["offer"] else None, v["weight"])
                for v in data.validated_data["variants"]
            ],
        )
        return Response(
            _detail(experiment_results(experiment=experiment)), status=status.HTTP_201_CREATED
        )
