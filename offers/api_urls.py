from django.urls import path

from offers import api, events_api

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
    path(
        "subscription-events",
        events_api.SubscriptionEventsApi.as_view(),
        name="api-subscription-events",
    ),
    path(
        "stripe/webhooks/<str:workspace_id>",
        events_api.StripeWebhookApi.as_view(),
        name="api-stripe-webhook",
    ),
]
