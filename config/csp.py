"""A Content-Security-Policy on every HTML page.

Everything the pages need is served from this origin, as files: no inline
script, no inline style, no ``on*=`` handler (the dashboard's figures come in a
``json_script`` data block, which is not run). So the policy allows only
``'self'``, plus ``data:`` images (the admin's and Swagger UI's icons), and no
framing (``frame-ancestors 'none'``, as ``X-Frame-Options: DENY``).

A view that needs another policy sets its own header, e.g.
``response[HEADER] = policy(frame_ancestors=["https://shop.example"])``; the
middleware leaves a header already set alone.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"

DEFAULT_POLICY: dict[str, list[str]] = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def policy(**directives: list[str]) -> str:
    """The default policy with some directives replaced, as a header value.
    Names are written with underscores: ``policy(frame_ancestors=[...])``."""
    merged = {**DEFAULT_POLICY, **{name.replace("_", "-"): v for name, v in directives.items()}}
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in merged.items())


DEFAULT_HEADER = policy()


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if HEADER not in response and response.get("Content-Type", "").startswith("text/html"):
            response[HEADER] = DEFAULT_HEADER
        return response
