from django.urls import path

from privacy.api import CustomerEraseApi, CustomerExportApi

# A customer id is the host's own and may hold a "/": the export's route is tried
# first, so ".../export" is always the export.
urlpatterns = [
    path(
        "customers/<path:customer_id>/export",
        CustomerExportApi.as_view(),
        name="api-customer-export",
    ),
    path("customers/<path:customer_id>", CustomerEraseApi.as_view(), name="api-customer-erase"),
]
