from django.urls import path

from workspaces import api

urlpatterns = [
    path("workspace", api.WorkspaceApi.as_view(), name="api-workspace"),
]
