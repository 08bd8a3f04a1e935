from django.urls import path

from analytics import api

urlpatterns = [
    path("analytics/funnel", api.FunnelApi.as_view(), name="api-analytics-funnel"),
    path("analytics/reasons", api.ReasonsApi.as_view(), name="api-analytics-reasons"),
    path("analytics/trends", api.TrendsApi.as_view(), name="api-analytics-trends"),
    path("analytics/offers", api.OffersApi.as_view(), name="api-analytics-offers"),
    path("analytics/saves", api.SavesApi.as_view(), name="api-analytics-saves"),
    path("analytics/breakdown", api.BreakdownApi.as_view(), name="api-analytics-breakdown"),
    path("analytics/verbatims", api.VerbatimsApi.as_view(), name="api-analytics-verbatims"),
    path("metrics/subscribers", api.SubscriberCountsApi.as_view(), name="api-metrics-subscribers"),
    path("exports/sessions.csv", api.SessionsExportApi.as_view(), name="api-export-sessions"),
]
