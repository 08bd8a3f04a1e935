from django.conf import settings
from django.contrib import admin
from django.contrib.staticfiles import finders
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import include, path, re_path
from django.views.decorators.http import require_GET
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.api_errors import api_not_found


def health(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers: the process answers and the database does too."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})


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
    path("healthz", health, name="health"),
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
