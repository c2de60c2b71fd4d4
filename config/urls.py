from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config import health, metrics
from followups.lookup_api import CallerLookupView

api_v1 = [
    # Before any interactions router: "sync" must not be read as an interaction id.
    path("", include("interactions.sync_urls")),
    path("lookup/", CallerLookupView.as_view(), name="lookup"),
    # interactions/, interactions/email/, customers/{id}/timeline/ (H2).
    path("", include("interactions.api_urls")),
    # Data subject requests: customers/{id}/export/ and /erase/ (admins only, H6).
    path("", include("privacy.urls")),
    # Supervisors' figures for BI tools (H5).
    path("", include("reporting.metrics_urls")),
    # Promises: list, create, complete/, reassign/, renegotiate/, cancel/ (H3).
    path("", include("followups.api_urls")),
    path("", include("crm.api_urls")),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    # Supervisors: overdue board, escalations, metrics (H5).
    path("supervisor/", include("reporting.board_urls", namespace="board")),
    # Log form, timeline fragments, matters, customer feedback pages (H2).
    path("interactions/", include("interactions.urls", namespace="interactions")),
    # My day, promise history, customer panel, notifications (H3).
    path("followups/", include("followups.urls")),
    # CSV import and export of customers and interactions (issue 15).
    path("spreadsheets/", include("spreadsheets.urls")),
    path("", include("crm.urls")),
]

# URLs under /api/ that match no route answer with the API error shape (core.errors).
handler404 = "core.errors.not_found"
