"""A worker SIGKILLed in the middle of a sweep batch: nothing lost, nothing doubled."""

import signal
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from followups.models import FollowUp, FollowUpEvent, Notification
from tests.processes import wait_for
from tests.reliability.builders import (
    duplicate_notifications,
    duplicate_transitions,
    people,
    scheduled_followups,
)

pytestmark = pytest.mark.reliability
PROMISES = 4000


def _sweep_statement_running() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
            "AND datname = current_database() AND pid <> pg_backend_pid() "
            "AND query LIKE %s",
            ["%WITH claimed AS%"],
        )
        return cursor.fetchone()[0] > 0


def test_worker_killed_mid_batch_loses_and_doubles_nothing(celery_processes):
    who = people()
    # Every transition already due: 16,000 to make, in batches of 500 promises.
    ids = scheduled_followups(
        PROMISES, start=timezone.now() - timedelta(minutes=10), step=timedelta(seconds=1), **who
    )
    worker = celery_processes("worker")
    beat = celery_processes("beat", FOLLOWUP_SWEEP_SECONDS="1")

    # Kill at a moment when a batch statement is running and earlier batches have committed.
    caught = wait_for(
        lambda: (
            FollowUpEvent.objects.filter(followup_id__in=ids).exists()
            and _sweep_statement_running()
        ),
        timeout=60,
        interval=0.02,
    )
    worker.kill(signal.SIGKILL)
    events_at_kill = FollowUpEvent.objects.filter(followup_id__in=ids).count()
    assert caught, worker.output()[-3000:]
    assert 0 < events_at_kill < 4 * PROMISES

    restarted = celery_processes("worker")

    def finished() -> bool:
        return not FollowUp.objects.filter(pk__in=ids, next_action_at__isnull=False).exists()

    assert wait_for(finished, timeout=90, interval=1), restarted.output()[-3000:]
    assert FollowUpEvent.objects.filter(followup_id__in=ids).count() == 4 * PROMISES
    # The reminders fell due after the due times had passed: recorded, not sent.
    assert Notification.objects.filter(followup_id__in=ids).count() == 3 * PROMISES
    assert duplicate_transitions() == 0
    assert duplicate_notifications() == 0
    assert "followups.tasks.sweep" in restarted.output()
    assert "Sending due task" in beat.output()
