from datetime import timedelta

import pytest
from django.utils import timezone

from config.celery import app as celery_app
from followups import sweep
from tests.factories import FollowUpFactory


def test_healthz_answers_without_touching_services(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_ok_when_database_and_broker_answer(client):
    response = client.get("/readyz")

    assert response.status_code == 200, response.json()
    assert response.json()["checks"] == {"database": "ok", "broker": "ok", "sweep": "ok"}


@pytest.mark.django_db
def test_readyz_is_503_naming_the_broker_when_it_is_unreachable(client, monkeypatch):
    # A real connection attempt to a port where nothing listens.
    monkeypatch.setitem(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    monkeypatch.setitem(celery_app.conf, "broker_write_url", None)

    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["broker"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"] != "ok"


@pytest.mark.django_db
def test_readyz_is_503_naming_the_sweep_when_its_lag_passes_the_threshold(client, settings):
    settings.FOLLOWUP_SWEEP_LAG_THRESHOLD_SECONDS = 300
    FollowUpFactory(due_at=timezone.now() - timedelta(minutes=4))
    assert client.get("/readyz").status_code == 200  # 4 minutes behind: under the threshold

    FollowUpFactory(due_at=timezone.now() - timedelta(minutes=6))
    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["sweep"]
    assert body["checks"]["sweep"].startswith("sweep lag 36")
    assert "exceeds 300 s (2 follow-ups" in body["checks"]["sweep"]

    sweep.followup_sweep(now=timezone.now())

    assert client.get("/readyz").status_code == 200


@pytest.mark.django_db
def test_readyz_sweep_check_is_off_with_a_zero_threshold(client, settings):
    settings.FOLLOWUP_SWEEP_LAG_THRESHOLD_SECONDS = 0
    FollowUpFactory(due_at=timezone.now() - timedelta(days=1))

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"]["sweep"] == "ok"
