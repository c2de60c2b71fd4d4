"""/metrics for Prometheus: protected, per-route request figures, the engine's gauges."""

import concurrent.futures
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from followups import notifications, sweep
from followups.models import Notification
from tests.factories import FollowUpFactory, UserFactory
from tests.processes import GunicornProcess, process_env

pytestmark = pytest.mark.django_db


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def gauge(text: str, name: str) -> float | None:
    return samples(text).get((name, ()))


def scrape(client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    return response.content.decode()


def test_metrics_refuses_an_address_outside_the_allowed_networks(client):
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_metrics_answers_the_token_from_anywhere(client, settings):
    settings.METRICS_TOKEN = "scrape-" + "x" * 32

    wrong = client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer nope")
    right = client.get(
        "/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION=f"Bearer {settings.METRICS_TOKEN}"
    )

    assert wrong.status_code == 403
    assert right.status_code == 200
    assert "rapport_followups_sweep_lag_seconds" in right.content.decode()


def test_metrics_answers_an_allowed_network(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.1.0.0/16"]

    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


def test_requests_are_counted_by_route_pattern_and_status(client):
    key = (
        "rapport_http_request_duration_seconds_count",
        (("method", "GET"), ("route", "healthz"), ("status", "200")),
    )
    missing = (
        "rapport_http_request_duration_seconds_count",
        (("method", "GET"), ("route", "<unmatched>"), ("status", "404")),
    )
    before = samples(scrape(client))

    client.get("/healthz")
    client.get("/healthz")
    client.get("/no/such/page/12345")
    after = samples(scrape(client))

    assert after[key] - before.get(key, 0) == 2
    assert after[missing] - before.get(missing, 0) == 1
    assert not any("12345" in str(labels) for _, labels in after)


def test_engine_gauges_move_when_work_falls_due_and_when_it_is_done(client):
    now = timezone.now()
    owner = UserFactory(email="owner@example.com")
    idle = scrape(client)
    assert gauge(idle, "rapport_followups_due") == 0
    assert gauge(idle, "rapport_followups_sweep_lag_seconds") == 0

    FollowUpFactory(owner=owner, due_at=now - timedelta(minutes=10))
    due = scrape(client)

    assert gauge(due, "rapport_followups_due") == 1
    assert 590 < gauge(due, "rapport_followups_sweep_lag_seconds") < 700

    sweep.followup_sweep(now=timezone.now())
    swept = scrape(client)

    assert gauge(swept, "rapport_followups_due") == 0
    assert gauge(swept, "rapport_followups_sweep_lag_seconds") == 0
    assert gauge(swept, "rapport_outbox_pending") == 1  # the overdue e-mail to the owner
    assert gauge(swept, "rapport_outbox_oldest_pending_age_seconds") >= 0

    notification = Notification.objects.get(channel="email")
    notifications.notification_deliver(notification_id=notification.pk)
    delivered = scrape(client)

    assert gauge(delivered, "rapport_outbox_pending") == 0


def test_celery_task_outcomes_are_counted():
    from prometheus_client import REGISTRY

    from followups.tasks import sweep

    def runs() -> float:
        labels = {"task": "followups.tasks.sweep", "outcome": "success"}
        return REGISTRY.get_sample_value("rapport_celery_tasks_total", labels) or 0

    before = runs()
    sweep.apply()

    assert runs() == before + 1


# --- several gunicorn workers ----------------------------------------------------


@pytest.fixture
def two_web_workers(transactional_db, tmp_path):
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    env = process_env(PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    server = GunicornProcess(tmp_path / "gunicorn.log", env, workers=2)
    try:
        server.wait_until_up()
        yield server, metrics_dir
    finally:
        server.stop()


def test_metrics_add_up_every_worker_and_gauges_agree_across_them(two_web_workers):
    server, metrics_dir = two_web_workers
    key = (
        "rapport_http_request_duration_seconds_count",
        (("method", "GET"), ("route", "healthz"), ("status", "200")),
    )
    before = samples(server.get("/metrics")[1]).get(key, 0)

    # Concurrent requests: while one worker is busy the other has to answer.
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: server.get("/healthz")[0], range(80)))
    assert statuses == [200] * 80
    pids = {path.stem.rsplit("_", 1)[-1] for path in metrics_dir.glob("histogram_*.db")}
    assert len(pids) == 2, f"expected both workers to have served requests: {pids}"

    # Every scrape, whichever worker answers it, counts all 80.
    counted = [samples(server.get("/metrics")[1])[key] - before for _ in range(6)]
    assert counted == [80] * 6

    FollowUpFactory(due_at=timezone.now() - timedelta(minutes=5))
    due = [gauge(server.get("/metrics")[1], "rapport_followups_due") for _ in range(6)]
    sweep.followup_sweep(now=timezone.now())
    done = [gauge(server.get("/metrics")[1], "rapport_followups_due") for _ in range(6)]

    assert due == [1] * 6
    assert done == [0] * 6
