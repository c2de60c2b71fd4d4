"""Test-only URLs: a view that logs and enqueues a task, as real views do."""

import logging

from django.db import transaction
from django.http import JsonResponse
from django.urls import include, path

from followups.tasks import team_schedules_recompute

logger = logging.getLogger("rapport.test_view")


def logging_view(request, team_id: int):
    logger.info("inside the view", extra={"team_id": team_id})
    transaction.on_commit(lambda: team_schedules_recompute.delay(team_id))
    return JsonResponse({"ok": True})


urlpatterns = [
    path("log-and-enqueue/<int:team_id>/", logging_view),
    path("", include("config.urls")),
]
