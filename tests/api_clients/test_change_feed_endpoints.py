"""The change feed on the customers, interactions and follow-ups lists."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tests import factories
from tests.api_clients.helpers import bearer_client


def _customer(at):
    return factories.CustomerFactory()


def _interaction(at):
    return factories.InteractionFactory()


def _followup(at):
    return factories.FollowUpFactory()


CASES = [
    ("/api/v1/customers/", "customers:read", _customer),
    ("/api/v1/interactions/", "interactions:read", _interaction),
    ("/api/v1/followups/", "followups:read", _followup),
]


@pytest.mark.parametrize(("url", "scope", "make"), CASES, ids=[c[1] for c in CASES])
def test_feed_pages_every_row_once_in_change_order(
    db, url, scope, make, django_assert_max_num_queries
):
    _, http, _ = bearer_client(scope, name="feed")
    start = timezone.now() - timedelta(hours=1)
    made = []
    for n in range(5):
        with time_machine.travel(start + timedelta(seconds=n // 2), tick=False):
            made.append(make(start).pk)

    seen, page_url = (
        [],
        f"{url}?updated_since={start.isoformat().replace('+00:00', 'Z')}&page_size=2",
    )
    for _ in range(10):
        with django_assert_max_num_queries(12):
            page = http.get(page_url).json()
        seen += [row["id"] for row in page["results"]]
        if not page["has_more"]:
            break
        page_url = page["next"]

    assert seen == made


@pytest.mark.parametrize(("url", "scope", "make"), CASES, ids=[c[1] for c in CASES])
def test_bad_cursor_is_400(db, url, scope, make):
    _, http, _ = bearer_client(scope, name="feed")

    response = http.get(f"{url}?cursor=garbage")

    assert response.status_code == 400
    assert "cursor" in response.json()["errors"]
