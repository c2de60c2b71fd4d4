from django.urls import path

from privacy import api as dsr_api

urlpatterns = [
    path(
        "customers/<int:pk>/export/", dsr_api.CustomerExportView.as_view(), name="customer-export"
    ),
    path("customers/<int:pk>/erase/", dsr_api.CustomerEraseView.as_view(), name="customer-erase"),
]
