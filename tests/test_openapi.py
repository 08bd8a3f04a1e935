"""The OpenAPI document tells the truth: the error responses every operation can give,
the envelopes and nullable fields the API really answers, links between operations.

The document is checked against the running API by schemathesis in
tests/integration/test_contract.py; these tests pin the mechanism (config/openapi.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import path
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tests.factories import make_session

METHODS = {"get", "post", "put", "patch", "delete"}
ERROR_REF = "#/components/schemas/Error"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (route, method, operation)
        for route, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_every_operation_documents_the_errors_it_can_give(schema: dict[str, Any]) -> None:
    found = operations(schema)
    assert len(found) >= 30
    for route, method, operation in found:
        responses = operation["responses"]
        name = f"{method.upper()} {route}"
        assert "Retry-After" in responses["429"]["headers"], name
        if operation.get("security"):
            assert {"401", "403"} <= set(responses), name
            assert "WWW-Authenticate" in responses["401"]["headers"], name
        if any(p["in"] == "path" for p in operation.get("parameters", [])):
            assert {"400", "404"} <= set(responses), name
        if "requestBody" in operation:
            assert {"400", "413", "415"} <= set(responses), name
            assert set(operation["requestBody"]["content"]) == {"application/json"}, name
        for code, response in responses.items():
            if code.startswith("4"):
                assert response["content"] == {
                    "application/json": {"schema": {"$ref": ERROR_REF}}
                }, f"{name} {code}"
                assert response["description"], f"{name} {code}"
        assert any(code.startswith("2") for code in responses), name


def test_the_error_component_is_the_shape_the_api_answers(
    schema: dict[str, Any], api, anon_api
) -> None:
    components = schema["components"]["schemas"]
    assert components["Error"]["required"] == ["error"]
    detail = components["ErrorDetail"]
    assert detail["required"] == ["code", "message"]
    assert set(detail["properties"]) == {"code", "message", "fields"}

    body = api.post("/api/v1/sessions", {"customer": {}}, format="json").json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    unauthenticated = anon_api.get("/api/v1/sessions", HTTP_AUTHORIZATION="Bearer wrong")
    assert unauthenticated.status_code == 401
    assert set(unauthenticated.json()["error"]) == {"code", "message"}


def test_operations_document_their_own_errors(schema: dict[str, Any]) -> None:
    paths = schema["paths"]
    assert {"409", "410", "422"} <= set(paths["/api/v1/flow/{token}/answer"]["post"]["responses"])
    assert "410" in paths["/api/v1/flow/{token}"]["get"]["responses"]
    assert "409" in paths["/api/v1/sessions"]["post"]["responses"]
    assert {"404", "422"} <= set(paths["/api/v1/analytics/funnel"]["get"]["responses"])
    widget = paths["/api/v1/widget/sessions"]["post"]
    assert "security" not in widget and "401" in widget["responses"]
    # The customer's flow needs no API key: no 401/403 there.
    assert "401" not in paths["/api/v1/flow/{token}/cancel"]["post"]["responses"]
    keep = paths["/api/v1/flow/{token}/keep"]["post"]
    assert {"200", "404", "409", "410", "429"} <= set(keep["responses"])
    assert "401" not in keep["responses"] and "requestBody" not in keep


def test_the_session_list_is_documented_as_the_page_it_answers(
    schema: dict[str, Any], api, workspace
) -> None:
    make_session(workspace)
    listed = schema["paths"]["/api/v1/sessions"]["get"]
    page_ref = listed["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    page = schema["components"]["schemas"][page_ref.rsplit("/", 1)[1]]
    assert set(page["properties"]) == {"next", "previous", "results"}
    assert page["properties"]["next"]["nullable"] is True
    assert page["properties"]["results"]["items"] == {"$ref": "#/components/schemas/SessionOut"}
    assert {p["name"] for p in listed["parameters"]} >= {"cursor", "limit", "status", "since"}

    session = schema["components"]["schemas"]["SessionOut"]
    assert session["properties"]["answered_at"]["nullable"] is True
    assert session["properties"]["completed_at"]["nullable"] is True
    assert session["properties"]["answer"]["nullable"] is True

    body = api.get("/api/v1/sessions").json()
    assert set(body) == {"next", "previous", "results"}
    assert body["results"][0]["answered_at"] is None
    assert body["results"][0]["completed_at"] is None
    assert body["results"][0]["answer"] is None
    assert set(body["results"][0]) == set(session["properties"])


def test_the_csv_export_is_documented_as_csv(schema: dict[str, Any]) -> None:
    responses = schema["paths"]["/api/v1/exports/sessions.csv"]["get"]["responses"]
    assert set(responses["200"]["content"]) == {"text/csv"}
    assert set(responses["422"]["content"]) == {"application/json"}


def test_links_lead_from_a_new_session_to_its_flow(schema: dict[str, Any]) -> None:
    operation_ids = {operation["operationId"] for _, _, operation in operations(schema)}
    links = schema["paths"]["/api/v1/sessions"]["post"]["responses"]["201"]["links"]
    assert links["flow"]["parameters"] == {"token": "$response.body#/token"}
    assert links["keep"]["operationId"] == "v1_flow_keep_create"
    assert links["session"]["parameters"] == {"session_id": "$response.body#/id"}
    for link in links.values():
        assert link["operationId"] in operation_ids
    assert "x-response-links" not in schema["paths"]["/api/v1/sessions"]["post"]


class ThingOut(serializers.Serializer):
    id = serializers.IntegerField()


class ThingIn(serializers.Serializer):
    name = serializers.CharField()


class ThingApi(APIView):
    @extend_schema(responses=ThingOut)
    def get(self, request: Request, thing_id: int) -> Response:
        return Response({"id": thing_id})

    @extend_schema(request=ThingIn, responses={201: ThingOut})
    def put(self, request: Request, thing_id: int) -> Response:
        return Response({"id": thing_id}, status=201)


def test_an_endpoint_added_later_gets_the_common_errors_without_saying_so() -> None:
    generator = SchemaGenerator(patterns=[path("api/v1/things/<int:thing_id>", ThingApi.as_view())])
    item = generator.get_schema(request=None, public=True)["paths"]["/api/v1/things/{thing_id}"]
    assert set(item["get"]["responses"]) == {"200", "400", "401", "403", "404", "429"}
    assert set(item["put"]["responses"]) == {
        "201",
        "400",
        "401",
        "403",
        "404",
        "413",
        "415",
        "429",
    }


class Conflicted(APIView):
    @extend_schema(responses={200: ThingOut, 409: ThingIn})
    def post(self, request: Request) -> Response:
        return Response({"id": 1})


def test_an_error_declared_with_another_body_is_still_the_error_shape() -> None:
    generator = SchemaGenerator(patterns=[path("api/v1/conflicted", Conflicted.as_view())])
    responses = generator.get_schema(request=None, public=True)["paths"]["/api/v1/conflicted"][
        "post"
    ]["responses"]
    assert responses["409"]["content"] == {"application/json": {"schema": {"$ref": ERROR_REF}}}
    assert responses["200"]["content"]["application/json"]["schema"]["$ref"].endswith("ThingOut")
