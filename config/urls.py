from django.conf import settings
from django.contrib import admin
from django.contrib.staticfiles import finders
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import include, path, re_path
from django.views.decorators.http import require_GET
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.api_errors import api_not_found
from config.health import healthz, livez, readyz
from config.metrics import metrics_view


@require_GET
def favicon(request: HttpRequest) -> FileResponse:
    """/favicon.ico, which browsers ask for on their own (pages link the SVG)."""
    path = finders.find("favicon.ico")
    if not path:
        raise Http404
    response = FileResponse(open(path, "rb"), content_type="image/x-icon")  # noqa: SIM115
    response["Cache-Control"] = "public, max-age=86400"
    return response


def home(request: HttpRequest) -> HttpResponse:
    return redirect("demo-host" if settings.DEMO_HOST_PAGE else "admin:index")


urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="health"),
    path("livez", livez, name="livez"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("surveys.api_urls")),
    path("api/v1/", include("alerts.api_urls")),
    path("api/v1/", include("analytics.api_urls")),
    path("api/v1/", include("offers.api_urls")),
    path("api/v1/", include("workspaces.api_urls")),
    path("api/v1/", include("privacy.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's initializer as a script file (?script), so
    # the page runs under the Content-Security-Policy without inline script.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="api/swagger_ui.html"
        ),
        name="api-docs",
    ),
    re_path(r"^api/", api_not_found),
    path("", include("workspaces.urls")),
    path("", include("alerts.urls")),
    path("", include("analytics.urls")),
    path("", include("offers.urls")),
    path("", include("surveys.urls")),
]

handler500 = "config.views.server_error"
