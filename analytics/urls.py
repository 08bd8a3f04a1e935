from django.urls import path

from analytics import views

urlpatterns = [
    path("app/<slug:workspace>/", views.dashboard, name="app-workspace"),
    path("app/<slug:workspace>/words/", views.words, name="analytics-words"),
    path(
        "app/<slug:workspace>/words/<int:response_id>/category",
        views.relabel,
        name="analytics-relabel",
    ),
    path(
        "app/<slug:workspace>/export/sessions.csv",
        views.export_sessions,
        name="analytics-export-sessions",
    ),
    path(
        "app/<slug:workspace>/export/figures.csv",
        views.export_figures,
        name="analytics-export-figures",
    ),
]
