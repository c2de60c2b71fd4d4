"""Interaction API routes (included under /api/v1/, after interactions.sync_urls)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from interactions import api

router = SimpleRouter()
router.register("interactions", api.InteractionViewSet, basename="interaction")

urlpatterns = [
    # Before the router: "email" must not be read as an interaction id.
    path("interactions/email/", api.EmailIngestView.as_view(), name="interactions-email"),
    path(
        "customers/<int:customer_id>/timeline/",
        api.CustomerTimelineView.as_view(),
        name="customer-timeline",
    ),
    *router.urls,
]
