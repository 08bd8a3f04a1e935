"""Errors that services raise when a request cannot be carried out.

Services know the domain, not HTTP; each error carries a stable machine code and a
suggested status that the API layer (config/api_errors.py) and the hosted pages
turn into a JSON error or a friendly page.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    status_code = 400
    code = "invalid_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: dict[str, Any] | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code
        self.fields = fields


class NotFound(ServiceError):
    status_code = 404
    code = "not_found"


class Conflict(ServiceError):
    status_code = 409
    code = "conflict"


class Gone(ServiceError):
    status_code = 410
    code = "gone"


class Invalid(ServiceError):
    status_code = 422
    code = "invalid"
