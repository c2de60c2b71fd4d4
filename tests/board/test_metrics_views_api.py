"""The metrics page, its CSV exports and /api/v1/metrics/...: the same figures."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from tests import factories
from tests.board.conftest import member, promise

NOW = datetime(2026, 4, 22, 12, 0, tzinfo=UTC)
PARAMS = {"start": "2026-04-06", "end": "2026-04-19"}


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def history(org):
    promise(
        org.maria,
        org.east,
        datetime(2026, 4, 7, 10, tzinfo=UTC),
        status="done",
        completed_at=datetime(2026, 4, 7, 9, tzinfo=UTC),
        is_kept_on_time=True,
        next_action_at=None,
    )
    promise(
        org.maria,
        org.east,
        datetime(2026, 4, 8, 10, tzinfo=UTC),
        status="done",
        completed_at=datetime(2026, 4, 8, 13, tzinfo=UTC),
        is_kept_on_time=False,
        next_action_at=None,
    )
    promise(org.james, org.east, datetime(2026, 4, 15, 10, tzinfo=UTC))  # missed
    factories.InteractionFactory(
        team=org.east,
        rep=org.maria,
        occurred_at=datetime(2026, 4, 9, tzinfo=UTC),
        category_id="complaint",
        outcome="resolved",
    )


def grow(org, n: int) -> None:
    for i in range(n):
        rep = member(org.east, username=f"grow{i}-{n}")
        day = datetime(2026, 4, 6 + i % 13, 11, tzinfo=UTC)
        promise(rep, org.east, day)
        factories.InteractionFactory(
            team=org.east, rep=rep, occurred_at=day, category_id="complaint"
        )


def test_metrics_page_shows_the_figures_charts_and_tables(client, org, history, frozen):
    client.force_login(org.sam)

    body = client.get(reverse("board:metrics"), PARAMS).content.decode()

    assert "33.3 %" in body  # kept on time: 1 of 3 decided (one late, one missed)
    assert "<svg" in body
    assert "promises.csv" in body
    assert "Handle time is not a target" in body


def test_metrics_page_query_count_does_not_grow(client, org, history, frozen):
    client.force_login(org.sam)
    grow(org, 2)
    with CaptureQueriesContext(connection) as small:
        assert client.get(reverse("board:metrics"), PARAMS).status_code == 200
    grow(org, 15)
    with CaptureQueriesContext(connection) as large:
        assert client.get(reverse("board:metrics"), PARAMS).status_code == 200
    assert len(large) == len(small)
    assert len(large) <= 25


def test_bad_metrics_filters_are_a_400_naming_the_field(client, org):
    client.force_login(org.sam)
    response = client.get(reverse("board:metrics"), {"start": "2026-04-10", "end": "2026-04-01"})
    assert response.status_code == 400
    assert "The end is before the start." in response.content.decode()
    # A team Sam does not supervise is not a choice.
    assert client.get(reverse("board:metrics"), {"team": org.west.pk}).status_code == 400


def test_csv_export_has_the_chart_numbers(client, org, history, frozen):
    client.force_login(org.sam)

    response = client.get(reverse("board:metrics-csv", args=["promises"]), PARAMS)

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:6] == [
        "week",
        "kept_on_time",
        "kept_late",
        "missed",
        "decided",
        "kept_on_time_percent",
    ]
    assert rows[1][:6] == ["2026-04-06", "1", "1", "0", "2", "50.0"]
    assert rows[2][:6] == ["2026-04-13", "0", "0", "1", "1", "0.0"]
    for table in ("contacts", "complaints", "csat"):
        assert client.get(reverse("board:metrics-csv", args=[table]), PARAMS).status_code == 200
    assert client.get(reverse("board:metrics-csv", args=["secrets"])).status_code == 400


def test_api_returns_the_same_figures_as_the_page(org, history, frozen):
    api = APIClient()
    api.force_login(org.sam)

    promises = api.get("/api/v1/metrics/promises/", PARAMS).json()
    contacts = api.get("/api/v1/metrics/contacts/", PARAMS).json()
    complaints = api.get("/api/v1/metrics/complaints/", PARAMS).json()
    csat = api.get("/api/v1/metrics/csat/", PARAMS)
    board = api.get("/api/v1/metrics/board/").json()

    assert (promises["kept_on_time"], promises["kept_late"], promises["missed"]) == (1, 1, 1)
    assert promises["kept_on_time_percent"] == 33.3
    assert promises["median_lateness_seconds"] == 3 * 3600
    assert [w["week"] for w in promises["weeks"]] == ["2026-04-06", "2026-04-13"]
    assert contacts["complaints"] == 1
    assert complaints["weeks"][0]["total"] == 1
    assert csat.status_code == 200
    assert board["total"] == 1
    assert board["teams"][0]["reps"][0]["buckets"]["over_3d"] == 1


def test_api_bad_filter_is_a_400_naming_the_field(org):
    api = APIClient()
    api.force_login(org.sam)
    response = api.get("/api/v1/metrics/promises/", {"start": "yesterday"})
    assert response.status_code == 400
    assert "start" in response.json()["errors"]


def test_api_is_for_supervisors_and_admins(org):
    api = APIClient()
    api.force_login(org.maria)
    assert api.get("/api/v1/metrics/promises/").status_code == 403
    assert api.get("/api/v1/metrics/board/").status_code == 403
    api.force_login(org.admin)
    assert api.get("/api/v1/metrics/board/").status_code == 200


def test_api_metrics_are_in_the_openapi_schema(client, org):
    client.force_login(org.admin)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in ("promises", "contacts", "complaints", "csat", "board"):
        assert f"/api/v1/metrics/{path}/" in schema["paths"]
    operation = schema["paths"]["/api/v1/metrics/promises/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {
        "start",
        "end",
        "team",
        "rep",
        "channel",
    }


def test_api_query_count_does_not_grow(org, history, frozen):
    api = APIClient()
    api.force_login(org.sam)

    def count(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(url, PARAMS).status_code == 200
        return len(captured)

    urls = ["/api/v1/metrics/promises/", "/api/v1/metrics/contacts/", "/api/v1/metrics/board/"]
    before = [count(url) for url in urls]
    grow(org, 12)
    assert [count(url) for url in urls] == before


def test_lateness_text_on_the_page(client, org, frozen):
    client.force_login(org.sam)
    due = datetime(2026, 4, 7, 10, tzinfo=UTC)
    promise(
        org.maria,
        org.east,
        due,
        status="done",
        completed_at=due + timedelta(minutes=90),
        is_kept_on_time=False,
        next_action_at=None,
    )
    body = client.get(reverse("board:metrics"), PARAMS).content.decode()
    assert "1 h 30" in body
