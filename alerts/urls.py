from django.urls import path

from alerts import views

urlpatterns = [
    path("app/<slug:workspace>/inbox/", views.inbox, name="alerts-inbox"),
    path(
        "app/<slug:workspace>/inbox/<int:alert_id>/",
        views.inbox_detail,
        name="alerts-inbox-detail",
    ),
]
