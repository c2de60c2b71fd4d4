"""Web and worker processes are stateless: two of each on one database and broker
do every transition once and answer alike (issue 17)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from followups.models import FollowUpEvent, Notification
from tests.factories import FollowUpFactory, UserFactory
from tests.processes import GunicornProcess, process_env, wait_for
from tests.test_metrics import gauge

pytestmark = pytest.mark.reliability

PROMISES = 40


def test_two_web_and_two_worker_processes_share_the_work(celery_processes, tmp_path):
    owners = [UserFactory(email=f"rep{n}@example.com") for n in range(4)]
    due = [
        FollowUpFactory(owner=owners[n % 4], due_at=timezone.now() - timedelta(minutes=n + 1))
        for n in range(PROMISES)
    ]
    env = process_env(FOLLOWUP_SWEEP_SECONDS="1")
    webs = [GunicornProcess(tmp_path / f"web{n}.log", env, workers=1) for n in range(2)]
    workers = [celery_processes("worker", "--hostname", f"w{n}@%h") for n in range(2)]
    celery_processes("beat", FOLLOWUP_SWEEP_SECONDS="1")
    try:
        for web in webs:
            web.wait_until_up()

        def all_sent() -> bool:
            return (
                Notification.objects.filter(channel="email", delivery_status="sent").count()
                == PROMISES
            )

        assert wait_for(all_sent, timeout=120), "\n".join(w.output()[-3000:] for w in workers)

        overdue = FollowUpEvent.objects.filter(followup__in=due, kind="overdue")
        assert overdue.count() == PROMISES  # each once, whichever worker swept
        assert Notification.objects.filter(channel="email").count() == PROMISES
        # Both workers, each with its own name, took deliveries off the one broker.
        for n, worker in enumerate(workers):
            log = worker.output()
            assert f"w{n}@" in log
            assert '"task": "followups.tasks.deliver_notification"' in log, log[-2000:]
        # Both web processes read the same engine state from the database.
        for web in webs:
            scraped = web.get("/metrics")[1]
            assert gauge(scraped, "rapport_followups_due") == 0
            assert gauge(scraped, "rapport_outbox_pending") == 0
    finally:
        for web in webs:
            web.stop()
