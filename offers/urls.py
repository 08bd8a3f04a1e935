from django.urls import path

from offers import views

urlpatterns = [
    path("app/<slug:workspace>/experiments/", views.experiments, name="offers-experiments"),
    path(
        "app/<slug:workspace>/experiments/<int:experiment_id>/",
        views.experiment_detail,
        name="offers-experiment",
    ),
]
