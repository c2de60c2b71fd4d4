"""HTML routes under /spreadsheets/ (namespace "spreadsheets")."""

from django.urls import path

from spreadsheets import views

app_name = "spreadsheets"

urlpatterns = [
    path("imports/", views.import_list, name="imports"),
    path("imports/<int:customer_import_id>/", views.import_detail, name="import-detail"),
    path(
        "imports/<int:customer_import_id>/progress/",
        views.import_progress,
        name="import-progress",
    ),
    path("imports/<int:customer_import_id>/mapping/", views.import_mapping, name="import-mapping"),
    path("imports/<int:customer_import_id>/run/", views.import_run, name="import-run"),
    path(
        "imports/<int:customer_import_id>/errors.csv",
        views.import_error_report,
        name="import-errors",
    ),
    path("interactions/import/", views.interaction_import, name="interaction-import"),
    path("customers.csv", views.customer_export, name="customer-export"),
    path("interactions.csv", views.interaction_export, name="interaction-export"),
]
