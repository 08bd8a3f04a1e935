"""The product's URLs plus ``/bench/floor``: a bare Django view doing one indexed
query, the least any endpoint on this stack can cost."""

from django.http import HttpRequest, JsonResponse
from django.urls import path

from config.urls import urlpatterns as product_urls
from workspaces.models import Workspace


def floor(request: HttpRequest) -> JsonResponse:
    found = Workspace.objects.filter(slug=request.GET.get("slug", "bench")).values_list(
        "pk", flat=True
    )
    return JsonResponse({"id": found.first()})


urlpatterns = [path("bench/floor", floor), *product_urls]
