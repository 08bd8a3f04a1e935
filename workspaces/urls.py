from django.contrib.auth import views as auth_views
from django.urls import path

from workspaces import views

urlpatterns = [
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("app/", views.app_home, name="app-home"),
    path("app/<slug:workspace>/connect/", views.workspace_overview, name="app-workspace-connect"),
    path("brand/<str:public_id>/<str:key>", views.brand_logo, name="brand-logo"),
]
