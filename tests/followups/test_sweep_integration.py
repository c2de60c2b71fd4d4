"""A real Celery worker and beat, on the real Redis and PostgreSQL of `make test`."""

from datetime import timedelta

from django.utils import timezone

from followups.models import FollowUp
from tests.factories import FollowUpFactory
from tests.processes import wait_for


def test_beat_and_worker_mark_a_follow_up_overdue(celery_processes):
    due = FollowUpFactory(due_at=timezone.now() - timedelta(seconds=1))
    not_due = FollowUpFactory(due_at=timezone.now() + timedelta(hours=1))

    worker = celery_processes("worker")
    beat = celery_processes("beat", FOLLOWUP_SWEEP_SECONDS="1")

    became_overdue = wait_for(
        lambda: FollowUp.objects.filter(pk=due.pk, is_overdue=True).exists(), timeout=60
    )

    assert became_overdue, f"worker log:\n{worker.output()}\nbeat log:\n{beat.output()}"
    assert "followups.tasks.sweep" in worker.output()
    not_due.refresh_from_db()
    assert not_due.is_overdue is False
