"""API authentication: ``Authorization: Bearer <api key>`` names the workspace."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from config.throttling import api_key_failures, client_ip
from workspaces.models import ApiKey, Workspace
from workspaces.selectors import api_key_for_raw
from workspaces.services import api_key_touch


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Sets ``request.auth`` to the ApiKey; its workspace scopes every query."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        # An IP that sent too many wrong keys is refused without looking at this one.
        idents = [client_ip(request)]
        wait = api_key_failures.locked_for(idents)
        if wait is not None:
            raise exceptions.Throttled(wait)
        scheme, _, raw_key = header.partition(" ")
        if scheme.lower() != self.keyword.lower() or not raw_key.strip():
            api_key_failures.failed(idents, reserved=False)
            raise exceptions.AuthenticationFailed(
                "Use the header 'Authorization: Bearer <api key>'."
            )
        api_key = api_key_for_raw(raw_key=raw_key.strip())
        if api_key is None:
            api_key_failures.failed(idents, reserved=False)
            raise exceptions.AuthenticationFailed("This API key is wrong or has been revoked.")
        api_key_touch(api_key=api_key)
        return (None, api_key)

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class HasWorkspace(permissions.BasePermission):
    """Server endpoints need an API key; each then sees only its own workspace."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if isinstance(request.auth, ApiKey):
            return True
        raise exceptions.NotAuthenticated("An API key is required: 'Authorization: Bearer …'.")


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "workspaces.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A workspace API key."}


def api_workspace(request: Request) -> Workspace:
    """The workspace of the API key that authenticated this request."""
    if not isinstance(request.auth, ApiKey):
        raise exceptions.NotAuthenticated("An API key is required: 'Authorization: Bearer …'.")
    return request.auth.workspace
