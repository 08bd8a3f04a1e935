from django.urls import path

from surveys import api, categorize_api

urlpatterns = [
    path("sessions", api.SessionListCreateApi.as_view(), name="api-sessions"),
    path("sessions/<uuid:session_id>", api.SessionDetailApi.as_view(), name="api-session"),
    path("widget/sessions", api.WidgetSessionCreateApi.as_view(), name="api-widget-sessions"),
    path("flow/<str:token>", api.FlowStateApi.as_view(), name="api-flow"),
    path("flow/<str:token>/answer", api.FlowAnswerApi.as_view(), name="api-flow-answer"),
    path("flow/<str:token>/accept", api.FlowAcceptApi.as_view(), name="api-flow-accept"),
    path("flow/<str:token>/keep", api.FlowKeepApi.as_view(), name="api-flow-keep"),
    path("flow/<str:token>/cancel", api.FlowCancelApi.as_view(), name="api-flow-cancel"),
    path("categorize", categorize_api.CategorizeApi.as_view(), name="api-categorize"),
    path("responses/review", categorize_api.ReviewQueueApi.as_view(), name="api-review-queue"),
    path(
        "responses/<int:response_id>/category",
        categorize_api.ResponseLabelApi.as_view(),
        name="api-response-label",
    ),
    path(
        "competitors/mentions",
        categorize_api.CompetitorCountsApi.as_view(),
        name="api-competitor-mentions",
    ),
]
