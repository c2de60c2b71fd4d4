"""Two beats and two workers over 2,000 promises: every transition exactly once.

Beat fires the sweep every second from two schedulers at once, two workers
pick the tasks up, and the reminders, due times and both escalations of all
2,000 promises fall due inside the test window.
"""

from datetime import timedelta

import pytest
from django.db.models import Count
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
PROMISES = 2000


def _counts(queryset, *fields) -> dict:
    rows = queryset.values(*fields).annotate(n=Count("id")).values_list(*fields, "n").order_by()
    return {tuple(row[:-1]): row[-1] for row in rows}


def test_two_beats_two_workers_make_each_transition_once(celery_processes):
    who = people()
    ids = scheduled_followups(
        PROMISES, start=timezone.now() + timedelta(seconds=8), step=timedelta(seconds=3), **who
    )

    workers = [celery_processes("worker", "-n", f"w{n}@%h") for n in (1, 2)]
    beats = [celery_processes("beat", FOLLOWUP_SWEEP_SECONDS="1") for _ in (1, 2)]

    def finished() -> bool:
        return not FollowUp.objects.filter(pk__in=ids, next_action_at__isnull=False).exists()

    done = wait_for(finished, timeout=90, interval=1)
    assert done, "\n".join(p.output()[-3000:] for p in [*workers, *beats])

    events = FollowUpEvent.objects.filter(followup_id__in=ids)
    assert _counts(events, "kind", "level") == {
        ("remind", 0): PROMISES,
        ("overdue", 0): PROMISES,
        ("escalate", 1): PROMISES,
        ("escalate", 2): PROMISES,
    }
    assert duplicate_transitions() == 0
    assert duplicate_notifications() == 0
    notifications = Notification.objects.filter(followup_id__in=ids)
    assert _counts(notifications, "kind", "level", "recipient") == {
        ("remind", 0, who["rep"].pk): PROMISES,
        ("overdue", 0, who["rep"].pk): PROMISES,
        ("escalate", 1, who["supervisor"].pk): PROMISES,
        ("escalate", 2, who["admin"].pk): PROMISES,
    }
    # Beat really fired from two schedulers, and both workers swept.
    for process in beats:
        assert "Sending due task followups-sweep" in process.output()
    for process in workers:
        assert "followups.tasks.sweep" in process.output()
