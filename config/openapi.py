"""The OpenAPI document tells the truth about errors: one mechanism for every operation.

``ApiAutoSchema`` (settings ``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]``) adds the error
responses any operation can give, all with the one error shape of ``config/api_errors.py``
(``{"error": {"code", "message", "fields"?}}``; every 4xx an operation documents gets
that shared ``Error`` schema), so a view declares only its success responses and the
errors that are its own (``error_responses(409, 422)``):

- 400 when the operation takes parameters or a body (malformed JSON, invalid fields,
  characters that cannot be stored);
- 401 and 403 when it needs an API key;
- 404 when its path names something (an id, a token);
- 413 and 415 when it takes a body (too large, not JSON);
- 429 on every operation (throttled; ``Retry-After`` says when to try again).

``response_links`` declares OpenAPI links from a success response to the operations that
take its values (``POST /sessions`` → ``token`` → ``/flow/{token}/…``), so a client or a
tester such as schemathesis can follow them.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "The request is malformed or a field is invalid (`fields` names them).",
    401: "No API key, or a wrong or revoked one.",
    403: "The API key is valid but may not do this.",
    404: "Nothing of that id or token here (or in this workspace).",
    405: "This method is not allowed on this path.",
    409: "It conflicts with the current state (already done, key reused with another body).",
    410: "It has expired.",
    413: "The request body is too large.",
    415: "The body is not JSON (send `Content-Type: application/json`).",
    422: "Well-formed, but it cannot be carried out as asked (`fields` says why).",
    429: "Too many requests; wait the `Retry-After` seconds.",
}

_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "schema": {"type": "string"},
            "description": "How to authenticate: `Bearer`.",
        }
    },
    429: {
        "Retry-After": {
            "schema": {"type": "integer", "minimum": 0},
            "description": "Seconds to wait before trying again.",
        }
    },
}

_BODY_METHODS = {"POST", "PUT", "PATCH"}


class ErrorDetail(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. `not_found`.")
    message = serializers.CharField(help_text="What went wrong, for a person.")
    # DRF takes declared fields out of the class, so this does not shadow Serializer.fields.
    fields = serializers.DictField(  # type: ignore[assignment]
        required=False,
        help_text="Per field (or `non_field_errors`): what is wrong with it.",
    )


class Error(serializers.Serializer):
    """Every error the API answers, whatever its status."""

    error = ErrorDetail()


def error_response(code: int) -> OpenApiResponse:
    return OpenApiResponse(Error, description=ERROR_DESCRIPTIONS.get(code, "Error."))


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """An operation's own errors: ``responses={200: X, **error_responses(409, 422)}``."""
    return {code: error_response(code) for code in codes}


def link(operation_id: str, description: str = "", **parameters: str) -> dict[str, Any]:
    """One OpenAPI link: ``link("v1_flow_retrieve", token="$response.body#/token")``."""
    found: dict[str, Any] = {"operationId": operation_id, "parameters": parameters}
    if description:
        found["description"] = description
    return found


def response_links(**links: dict[str, Any]) -> dict[str, Any]:
    """Links for the operation's success responses, for ``extend_schema(extensions=…)``."""
    return {"x-response-links": links}


class ApiAutoSchema(AutoSchema):
    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None or not self.path.startswith("/api/"):
            return operation
        responses: dict[str, Any] = operation["responses"]
        for code in self._common_error_codes(operation):
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(error_response(code), str(code))
            headers = _HEADERS.get(code)
            if headers:
                responses[str(code)].setdefault("headers", {}).update(headers)
        # Every 4xx is the one Error shape (config/api_errors.py makes it so), whatever
        # a view declared: it keeps its description, the body is the shared component.
        for status, response in responses.items():
            if status.startswith("4"):
                response["content"] = self._get_response_for_code(
                    error_response(int(status)), status
                )["content"]
        links = operation.pop("x-response-links", None)
        if links:
            for status, response in responses.items():
                if status.startswith("2") and "content" in response:
                    response["links"] = links
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _common_error_codes(self, operation: dict[str, Any]) -> list[int]:
        parameters = operation.get("parameters", [])
        has_body = "requestBody" in operation or self.method in _BODY_METHODS
        codes = []
        if has_body or parameters:
            codes.append(400)
        if any(requirement for requirement in operation.get("security", [])):
            codes += [401, 403]
        if any(p["in"] == "path" for p in parameters):
            codes.append(404)
        if has_body:
            codes += [413, 415]
        codes.append(429)
        return codes
