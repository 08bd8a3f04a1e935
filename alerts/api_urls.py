from django.urls import path

from alerts import api

urlpatterns = [
    path("webhook-endpoints", api.WebhookEndpointListApi.as_view(), name="api-webhook-endpoints"),
    path(
        "webhook-endpoints/<int:endpoint_id>",
        api.WebhookEndpointDetailApi.as_view(),
        name="api-webhook-endpoint",
    ),
    path("deliveries", api.DeliveryListApi.as_view(), name="api-deliveries"),
    path(
        "deliveries/<int:delivery_id>/retry",
        api.DeliveryRetryApi.as_view(),
        name="api-delivery-retry",
    ),
]
