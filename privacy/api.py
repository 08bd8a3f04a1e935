"""Export and erase one customer (v1). Views validate, call a service, serialise.

The serializers below describe the documents exactly (the OpenAPI schema is built
from them) and render them: what is documented is what is sent."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import NotFound
from privacy.selectors import customer_export
from privacy.services import Actor, customer_erase
from workspaces.models import ApiKey

NOT_FOUND = "Nothing is held about this customer in this workspace."


class PrivacyErrorDetailOut(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    # DRF takes declared fields off the class; "fields" only shadows the property for mypy.
    fields = serializers.DictField(required=False)  # type: ignore[assignment]


class PrivacyErrorOut(serializers.Serializer):
    error = PrivacyErrorDetailOut()


class ExportCustomerOut(serializers.Serializer):
    id = serializers.CharField()
    email = serializers.CharField(allow_blank=True)
    name = serializers.CharField(allow_blank=True)


class ExportSubscriptionOut(serializers.Serializer):
    id = serializers.CharField()
    plan = serializers.CharField(allow_blank=True)
    mrr_cents = serializers.IntegerField()
    currency = serializers.CharField()
    started_at = serializers.CharField(allow_null=True)
    current_period_end = serializers.CharField(allow_null=True)


class ExportAnswerOut(serializers.Serializer):
    reason = serializers.CharField()
    reason_label = serializers.CharField()
    text = serializers.CharField(allow_blank=True, help_text="The customer's own words.")
    locale = serializers.CharField(allow_blank=True)
    category = serializers.CharField()
    category_source = serializers.CharField()
    created_at = serializers.CharField()


class ExportOfferOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    terms = serializers.DictField(help_text="The offer's terms as configured.")
    shown_at = serializers.CharField(allow_null=True)
    accepted = serializers.BooleanField()
    accepted_terms = serializers.DictField(
        allow_null=True, help_text="What the customer accepted, as applied (null: not accepted)."
    )


class ExportAlertChangeOut(serializers.Serializer):
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    note = serializers.CharField(allow_blank=True)
    by = serializers.CharField(allow_null=True)
    created_at = serializers.CharField()


class ExportAlertOut(serializers.Serializer):
    id = serializers.IntegerField()
    team = serializers.CharField()
    status = serializers.CharField()
    risk_score = serializers.IntegerField()
    assignee = serializers.CharField(allow_null=True)
    notes = serializers.CharField(allow_blank=True, help_text="The inbox notes.")
    created_at = serializers.CharField()
    changes = ExportAlertChangeOut(many=True)


class ExportAttemptOut(serializers.Serializer):
    number = serializers.IntegerField()
    started_at = serializers.CharField()
    ok = serializers.BooleanField()
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_blank=True)


class ExportDeliveryOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    alert = serializers.IntegerField(allow_null=True)
    status = serializers.CharField()
    attempts = ExportAttemptOut(many=True)
    last_error = serializers.CharField(allow_blank=True)
    created_at = serializers.CharField()
    sent_at = serializers.CharField(allow_null=True)


class ExportEventOut(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.CharField()
    created_at = serializers.CharField()
    payload = serializers.DictField(help_text="The outcome event as sent to the host.")
    deliveries = ExportDeliveryOut(many=True)


class ExportSessionOut(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField()
    outcome = serializers.CharField(allow_blank=True)
    kept = serializers.BooleanField(
        help_text="Saved without an offer: the customer chose to keep their subscription."
    )
    source = serializers.CharField()  # type: ignore[assignment]
    customer = ExportCustomerOut()
    subscription = ExportSubscriptionOut()
    locale = serializers.CharField(allow_blank=True)
    return_url = serializers.CharField(allow_blank=True)
    metadata = serializers.DictField()
    created_at = serializers.CharField()
    answered_at = serializers.CharField(allow_null=True)
    offered_at = serializers.CharField(allow_null=True)
    completed_at = serializers.CharField(allow_null=True)
    answer = ExportAnswerOut(allow_null=True)
    offer = ExportOfferOut(allow_null=True)
    experiment_variant = serializers.CharField(allow_null=True)
    alerts = ExportAlertOut(many=True)
    events = ExportEventOut(many=True)


class CustomerExportOut(serializers.Serializer):
    format = serializers.IntegerField()
    workspace = serializers.CharField()
    customer_id = serializers.CharField()
    exported_at = serializers.CharField()
    sessions = ExportSessionOut(many=True)


class ErasureCountsOut(serializers.Serializer):
    sessions = serializers.IntegerField()
    answers = serializers.IntegerField()
    outbox_events = serializers.IntegerField()
    alerts = serializers.IntegerField()
    inbox_notes = serializers.IntegerField()
    deliveries = serializers.IntegerField()
    delivery_attempts = serializers.IntegerField()
    deliveries_cancelled = serializers.IntegerField()
    admin_log_entries = serializers.IntegerField()
    subscription_events = serializers.IntegerField(
        default=0, help_text="Later subscription events whose ids were erased."
    )


class ErasureOut(serializers.Serializer):
    erasure = serializers.IntegerField(source="pk", help_text="The audit record's id.")
    customer = serializers.CharField(
        source="pseudonym", help_text="The pseudonym that replaced the customer's id."
    )
    erased_at = serializers.DateTimeField(source="created_at")
    counts = ErasureCountsOut(help_text="Rows erased, by kind.")


ERRORS = {
    401: OpenApiResponse(PrivacyErrorOut, description="No or a wrong API key."),
    404: OpenApiResponse(PrivacyErrorOut, description="Nothing is held about this customer."),
}


CUSTOMER_ID = OpenApiParameter(
    "customer_id",
    str,
    OpenApiParameter.PATH,
    description="The customer's id, as the host gave it when opening sessions.",
)


def _api_key(request: Request) -> ApiKey:
    assert isinstance(request.auth, ApiKey)  # HasWorkspace let the request in
    return request.auth


class CustomerExportApi(APIView):
    @extend_schema(
        parameters=[CUSTOMER_ID],
        responses={200: CustomerExportOut, **ERRORS},
        summary="Export everything held about a customer",
        description=(
            "Every session of the customer (by the id the host gave) in the API key's "
            "workspace: the answer with their words, the offer shown or accepted and its "
            "terms, alerts with inbox notes, outcome events with each delivery and attempt."
        ),
    )
    def get(self, request: Request, customer_id: str) -> Response:
        api_key = _api_key(request)
        document = customer_export(workspace=api_key.workspace, customer_id=customer_id)
        if document is None:
            raise NotFound(NOT_FOUND, code="customer_not_found")
        return Response(CustomerExportOut(document).data)


class CustomerEraseApi(APIView):
    @extend_schema(
        parameters=[CUSTOMER_ID],
        responses={200: ErasureOut, **ERRORS},
        summary="Erase a customer's personal data",
        description=(
            "Erases the customer's email, name and id (replaced by a stable pseudonym), "
            "their words, metadata, return URL, inbox notes, what outcome events and "
            "deliveries carried about them, and admin log entries naming them. Sessions "
            "stay, anonymised: analytics figures do not change. Repeating it is harmless "
            "(the pseudonym finds the same rows); 404 when nothing is held."
        ),
    )
    def delete(self, request: Request, customer_id: str) -> Response:
        api_key = _api_key(request)
        record = customer_erase(
            workspace=api_key.workspace,
            customer_id=customer_id,
            actor=Actor.for_api_key(api_key),
        )
        return Response(ErasureOut(record).data)
