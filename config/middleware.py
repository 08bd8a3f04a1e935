"""Request guards that run before any view: bad input is a 4xx, never a 500.

- A NUL character (U+0000) in the path, a query parameter, a header or a form
  field is refused with 400: PostgreSQL cannot store it in text, so it would
  otherwise fail deep inside a query (``DataError``). JSON bodies are checked
  by the API's parser (``config/parsers.py``).
- Under ``/api/`` a body larger than ``API_MAX_BODY_BYTES`` is refused with 413
  before anything reads it: by its ``Content-Length``, or, for a streamed body
  without one (``Transfer-Encoding: chunked``), after reading at most one byte
  more than the limit. A view may allow more with ``max_body_bytes`` (an int or
  a callable returning one) on its class.

Under ``/api/`` the answers are the API's JSON errors; elsewhere a short page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from config.api_errors import error_body

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def _nul_message() -> str:
    return _("Must not contain NUL (\\u0000) characters.")


def _nul_field(request: HttpRequest) -> str | None:
    """Where a NUL character is in the request line or headers, or None."""
    if "\x00" in request.path_info:
        return "path"
    for key, values in request.GET.lists():
        if "\x00" in key or any("\x00" in value for value in values):
            return key.replace("\x00", "\\u0000")
    for name, value in request.META.items():
        if name.startswith("HTTP_") and isinstance(value, str) and "\x00" in value:
            return name[5:].replace("_", "-").title()
    return None


def _form_nul_field(request: HttpRequest) -> str | None:
    if request.method != "POST" or not (request.content_type or "").startswith(_FORM_TYPES):
        return None
    for key, values in request.POST.lists():
        if "\x00" in key or any("\x00" in value for value in values):
            return key.replace("\x00", "\\u0000")
    return None


def _bad_request(request: HttpRequest, field: str) -> HttpResponse:
    message = _nul_message()
    if is_api(request):
        return JsonResponse(
            error_body(
                "validation_error", _("Some fields are missing or invalid."), {field: message}
            ),
            status=400,
        )
    return render(
        request,
        "surveys/error.html",
        {"title": _("Bad request"), "body": f"{field}: {message}"},
        status=400,
    )


def _too_large(limit: int) -> JsonResponse:
    return JsonResponse(
        error_body(
            "payload_too_large",
            _("The request body is larger than %(limit)d bytes.") % {"limit": limit},
        ),
        status=413,
    )


def _body_limit(view_func: Callable[..., Any]) -> int:
    limit = settings.API_MAX_BODY_BYTES
    own = getattr(getattr(view_func, "cls", view_func), "max_body_bytes", None)
    if own is not None:
        limit = max(limit, own() if callable(own) else int(own))
    return limit


class RequestGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        field = _nul_field(request)
        if field is not None:
            return _bad_request(request, field)
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: Any,
        view_kwargs: Any,
    ) -> HttpResponse | None:
        if not is_api(request):
            field = _form_nul_field(request)
            return None if field is None else _bad_request(request, field)
        limit = _body_limit(view_func)
        meta = request.META
        try:
            length = int(meta.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            return _too_large(limit)
        chunked = "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower()
        if not length and chunked and meta.get("wsgi.input_terminated"):
            # A streamed body (gunicorn ends the stream where the body ends):
            # read one byte past the limit at most, then let the parsers see it.
            request._stream = LimitedStream(meta["wsgi.input"], limit + 1)  # type: ignore[assignment]
            if len(request.body) > limit:
                return _too_large(limit)
            meta["CONTENT_LENGTH"] = str(len(request.body))
        return None
