"""No list counts a whole table: page-number pages count at most COUNT_CAP rows,
and say the planner's estimate when even that count would cost too much."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import pagination
from tests import factories
from tests.api_clients.helpers import bearer_client

pytestmark = pytest.mark.django_db

LISTS = ["/api/v1/interactions/", "/api/v1/customers/", "/api/v1/followups/"]


@pytest.fixture
def reader():
    return bearer_client("interactions:read", "customers:read", "followups:read")[1]


def _counts(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]


@pytest.mark.parametrize("url", LISTS)
def test_first_page_counts_at_most_the_cap(reader, monkeypatch, url):
    monkeypatch.setattr(pagination, "COUNT_CAP", 3)
    for _ in range(5):
        factories.FollowUpFactory(customer=factories.InteractionFactory().customer)

    with CaptureQueriesContext(connection) as queries:
        response = reader.get(url, {"page_size": 2})

    body = response.json()
    assert response.status_code == 200
    assert (body["count"], body["count_is_capped"], body["count_is_estimated"]) == (3, True, False)
    assert len(body["results"]) == 2
    explain, count = _counts(queries)
    assert explain.startswith("EXPLAIN (FORMAT JSON) ")
    assert explain.removeprefix("EXPLAIN (FORMAT JSON) ") == count  # the count it priced
    assert "LIMIT 4" in count  # the count stops after COUNT_CAP + 1 rows
    # Any rows will do for a count: no ORDER BY, so no walk in the list's order.
    assert "ORDER BY" not in count


def test_a_small_list_counts_exactly(reader):
    factories.InteractionFactory()
    factories.InteractionFactory()

    body = reader.get("/api/v1/interactions/").json()

    assert (body["count"], body["count_is_capped"], body["count_is_estimated"]) == (2, False, False)


def test_a_costly_count_is_the_planners_estimate_said_so(reader, monkeypatch):
    # Given a count the planner prices above the limit (every count, here)
    monkeypatch.setattr(pagination, "COUNT_COST_LIMIT", -1)
    for _ in range(3):
        factories.InteractionFactory()

    # When the first page is read
    with CaptureQueriesContext(connection) as queries:
        body = reader.get("/api/v1/interactions/", {"page_size": 2}).json()

    # Then the count is the estimate, said so, and no row was counted
    assert body["count_is_estimated"] is True
    assert 0 <= body["count"] <= pagination.COUNT_CAP
    assert [sql.split(" ", 1)[0] for sql in _counts(queries)] == ["EXPLAIN"]
    assert len(body["results"]) == 2


def test_estimated_pages_follow_the_rows_not_the_estimate(reader, monkeypatch):
    # Given an estimated count (whatever it says, `next` must lead to every row)
    monkeypatch.setattr(pagination, "COUNT_COST_LIMIT", -1)
    made = {factories.InteractionFactory().pk for _ in range(5)}

    # When a client follows `next` from the first page
    seen, url, pages = [], "/api/v1/interactions/?page_size=2", 0
    while url:
        body = reader.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
        pages += 1

    # Then it read each row once, in three pages, and the last had no `next`
    assert (sorted(seen), pages) == (sorted(made), 3)


def test_an_estimated_page_past_the_end_is_empty(reader, monkeypatch):
    monkeypatch.setattr(pagination, "COUNT_COST_LIMIT", -1)
    factories.InteractionFactory()

    response = reader.get("/api/v1/interactions/", {"page": 7})

    assert response.status_code == 200
    assert (response.json()["results"], response.json()["next"]) == ([], None)


def test_the_schema_says_a_count_may_be_estimated(reader):
    schema = reader.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    page = schema["components"]["schemas"]["PaginatedInteractionList"]

    assert "count_is_estimated" in page["properties"]
    assert "estimate" in page["properties"]["count_is_estimated"]["description"]
