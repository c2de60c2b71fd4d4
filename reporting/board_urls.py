"""Supervisor pages, mounted under /supervisor/ with namespace "board"."""

from django.urls import path

from reporting import board_views as views

app_name = "board"

urlpatterns = [
    path("board/", views.board_page, name="board"),
    path("board/summary/", views.board_summary_fragment, name="summary"),
    path("board/list/", views.board_list_fragment, name="list"),
    path("board/reassign/", views.board_bulk_reassign, name="reassign"),
    path(
        "escalations/<int:followup_id>/acknowledge/",
        views.escalation_acknowledge,
        name="acknowledge",
    ),
    path("escalations/", views.escalations_inbox_page, name="escalations"),
    path("metrics/", views.metrics_page, name="metrics"),
    path("metrics/<str:table>.csv", views.metrics_csv, name="metrics-csv"),
]
