"""HTML routes under /interactions/ (namespace "interactions")."""

from django.urls import path

from interactions import views

app_name = "interactions"

urlpatterns = [
    path(
        "customers/<int:customer_id>/log/",
        views.customer_log_form,
        name="customer-log-form",
    ),
    path(
        "customers/<int:customer_id>/timeline/",
        views.customer_timeline,
        name="customer-timeline",
    ),
    path(
        "<int:interaction_id>/matter/",
        views.interaction_matter_change,
        name="interaction-matter",
    ),
    path(
        "<int:interaction_id>/feedback-request/",
        views.interaction_feedback_request,
        name="interaction-feedback-request",
    ),
    path("feedback/<str:token>/", views.feedback_page, name="feedback"),
]
