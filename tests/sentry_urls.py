"""A URLconf whose one view fails, for tests/test_sentry.py."""

from django.http import HttpRequest, HttpResponse
from django.urls import path


def fail(request: HttpRequest, token: str) -> HttpResponse:
    email = request.POST.get("email", "")
    raise RuntimeError(f"could not cancel for {email} at /c/{token}/")


urlpatterns = [path("c/<str:token>/fail", fail)]
