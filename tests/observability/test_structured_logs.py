"""JSON log lines with a request id on every line, carried into Celery tasks (issue 17)."""

import io
import json
import logging

import pytest

from config.structured_logs import ContextFilter, json_formatter
from crm.models import TeamMembership
from tests.factories import TeamFactory, TeamMembershipFactory
from tests.processes import wait_for


@pytest.fixture
def log_lines():
    """Every record the root logger emits, formatted as production formats it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    root.addHandler(handler)

    def lines() -> list[dict]:
        handler.flush()
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

    yield lines
    root.removeHandler(handler)


@pytest.mark.urls("tests.observability.log_urls")
@pytest.mark.django_db
def test_every_line_of_a_request_carries_its_id_and_the_user(
    client, log_lines, django_capture_on_commit_callbacks
):
    membership = TeamMembershipFactory(role=TeamMembership.Role.REP)
    client.force_login(membership.user)

    with django_capture_on_commit_callbacks(execute=False):
        response = client.get(f"/log-and-enqueue/{membership.team_id}/")

    request_id = response["X-Request-ID"]
    lines = [line for line in log_lines() if line["request_id"] == request_id]
    assert [line["message"] for line in lines] == ["inside the view", "request finished"]
    assert {line["user_id"] for line in lines} == {membership.user.pk}
    finished = lines[-1]
    assert finished["route"] == "log-and-enqueue/<int:team_id>/"
    assert finished["status"] == 200
    assert finished["logger"] == "rapport.request"
    assert {"time", "level", "duration_ms", "method"} <= finished.keys()


@pytest.mark.django_db
def test_a_sane_proxy_request_id_is_kept_and_a_forged_one_replaced(client, log_lines):
    kept = client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a9c2e-0001")
    forged = client.get("/healthz", HTTP_X_REQUEST_ID='x" injected\nline')

    assert kept["X-Request-ID"] == "lb-7f3a9c2e-0001"
    assert forged["X-Request-ID"] != 'x" injected\nline'
    assert len(forged["X-Request-ID"]) == 32
    ids = [line["request_id"] for line in log_lines() if line["message"] == "request finished"]
    assert ids == ["lb-7f3a9c2e-0001", forged["X-Request-ID"]]


@pytest.mark.django_db
def test_an_api_client_request_names_the_client_not_a_customer(log_lines):
    from tests.api_clients.helpers import bearer_client

    client_row, api, _ = bearer_client("customers:read")
    response = api.get("/api/v1/lookup/", {"phone": "+14155550123"})

    assert response.status_code in (200, 404)
    finished = [line for line in log_lines() if line["message"] == "request finished"][-1]
    assert finished["api_client_id"] == client_row.pk
    assert finished["route"] == "api/v1/lookup/"
    assert "4155550123" not in json.dumps(log_lines())


@pytest.mark.urls("tests.observability.log_urls")
def test_the_request_id_travels_into_the_celery_task_it_enqueues(client, celery_processes):
    team = TeamFactory()
    worker = celery_processes("worker", LOG_JSON="true")

    response = client.get(f"/log-and-enqueue/{team.pk}/")
    request_id = response["X-Request-ID"]

    def task_lines() -> list[dict]:
        lines = []
        for raw in worker.output().splitlines():
            if raw.startswith("{"):
                lines.append(json.loads(raw))
        return [
            line for line in lines if line.get("task") == "followups.tasks.team_schedules_recompute"
        ]

    assert wait_for(
        lambda: any("succeeded" in line["message"] for line in task_lines()), timeout=60
    ), worker.output()
    assert {line["request_id"] for line in task_lines()} == {request_id}
