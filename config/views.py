"""Last-resort error pages: JSON under /api/, a plain page elsewhere."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from config.api_errors import api_server_error


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return api_server_error(request)
    return render(
        request,
        "surveys/error.html",
        {"title": "Something went wrong", "body": "Please try again in a moment."},
        status=500,
    )
