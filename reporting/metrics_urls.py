"""`/api/v1/metrics/...` (included from config/urls.py)."""

from django.urls import path

from reporting import metrics_api

urlpatterns = [
    path("metrics/promises/", metrics_api.PromiseMetricsView.as_view(), name="metrics-promises"),
    path("metrics/contacts/", metrics_api.ContactMetricsView.as_view(), name="metrics-contacts"),
    path(
        "metrics/complaints/", metrics_api.ComplaintMetricsView.as_view(), name="metrics-complaints"
    ),
    path("metrics/csat/", metrics_api.CsatMetricsView.as_view(), name="metrics-csat"),
    path("metrics/board/", metrics_api.BoardCountsView.as_view(), name="metrics-board"),
]
