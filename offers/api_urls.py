from django.urls import path

from offers import api

urlpatterns = [
    path("offers", api.OfferListApi.as_view(), name="api-offers"),
    path("offer-rules", api.OfferRuleListApi.as_view(), name="api-offer-rules"),
    path("experiments", api.ExperimentCreateApi.as_view(), name="api-experiments"),
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
