"""Production as the guide deploys it: gunicorn, a worker and beat on production
settings against PostgreSQL and Redis, and a promise gets its reminder (issue 17)."""

import re
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from followups import services
from followups.models import FollowUpEvent, Notification
from tests.factories import CustomerFactory, TeamMembershipFactory
from tests.processes import ROOT, GunicornProcess, process_env, wait_for
from tests.test_metrics import gauge, samples

pytestmark = pytest.mark.reliability

HTTPS = {"X-Forwarded-Proto": "https"}  # what the TLS proxy in front adds


def test_production_processes_remind_a_promise(celery_processes, tmp_path):
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    production = process_env(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="prod-" + "9f8e7d6c" * 6,
        DEBUG="false",
        FOLLOWUP_SWEEP_SECONDS="1",
        STATIC_ROOT=str(tmp_path / "static"),
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    )
    release = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input"],
        cwd=ROOT,
        env=production,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert release.returncode == 0, release.stderr
    owner = TeamMembershipFactory(user__email="rep@example.com").user
    now = timezone.now()
    # Due in an hour and five seconds: the reminder (one hour ahead) falls due in 5 s.
    followup = services.followup_promise(
        customer=CustomerFactory(),
        owner=owner,
        action="Call back",
        due_at=now + timedelta(hours=1, seconds=5),
        now=now,
    )

    web = GunicornProcess(tmp_path / "gunicorn.log", production, workers=2)
    worker = celery_processes("worker", **production)
    beat = celery_processes("beat", **production)
    try:
        web.wait_until_up()

        def reminded_and_sent() -> bool:
            return Notification.objects.filter(
                followup=followup, kind="remind", channel="email", delivery_status="sent"
            ).exists()

        assert wait_for(reminded_and_sent, timeout=90), (
            f"worker:\n{worker.output()}\nbeat:\n{beat.output()}"
        )
        assert FollowUpEvent.objects.filter(followup=followup, kind="remind").count() == 1

        # Probes and metrics over plain HTTP; the engine is on time.
        ready_status, ready = web.get("/readyz")
        assert ready_status == 200, ready
        scraped = web.get("/metrics")[1]
        assert gauge(scraped, "rapport_followups_sweep_lag_seconds") == 0
        assert gauge(scraped, "rapport_followups_last_sweep_timestamp_seconds") > now.timestamp()
        sweeps = samples(scraped).get(
            (
                "rapport_celery_tasks_total",
                (("outcome", "success"), ("task", "followups.tasks.sweep")),
            ),
            0,
        )
        assert sweeps >= 1  # counted in the worker, read through the web's /metrics

        # Pages go to HTTPS; behind the proxy they render with hashed static files
        # that the application serves itself.
        assert web.get("/accounts/login/")[0] == 301
        login_status, page = web.get("/accounts/login/", HTTPS)
        assert login_status == 200
        css = re.search(r'href="(/static/rapport\.[0-9a-f]{12}\.css)"', page)
        assert css, page[:500]
        assert web.get(css.group(1), HTTPS)[0] == 200
        # The worker's log is JSON lines naming the task, never the rep's address.
        assert '"task": "followups.tasks.deliver_notification"' in worker.output()
    finally:
        web.stop()
