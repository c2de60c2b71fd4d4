"""No list counts a whole table: page-number pages count at most COUNT_CAP rows."""

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


@pytest.mark.parametrize("url", LISTS)
def test_first_page_counts_at_most_the_cap(reader, monkeypatch, url):
    monkeypatch.setattr(pagination, "COUNT_CAP", 3)
    for _ in range(5):
        factories.FollowUpFactory(customer=factories.InteractionFactory().customer)

    with CaptureQueriesContext(connection) as queries:
        response = reader.get(url, {"page_size": 2})

    body = response.json()
    assert response.status_code == 200
    assert (body["count"], body["count_is_capped"], len(body["results"])) == (3, True, 2)
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1
    assert "LIMIT 4" in counts[0]  # the count stops after COUNT_CAP + 1 rows


def test_a_small_list_counts_exactly(reader):
    factories.InteractionFactory()
    factories.InteractionFactory()

    body = reader.get("/api/v1/interactions/").json()

    assert (body["count"], body["count_is_capped"]) == (2, False)
