from django.urls import path

from offers import api

urlpatterns = [
    path("experiments", api.ExperimentListApi.as_view(), name="api-experiments"),
    path(
        "experiments/<int:experiment_id>",
        api.ExperimentDetailApi.as_view(),
        name="api-experiment",
    ),
    path(
        "experiments/<int:experiment_id>/stop",
        api.ExperimentStopApi.as_view(),
        name="api-experiment-stop",
    ),
]
