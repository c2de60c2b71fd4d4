"""Open input to the batch sync: arbitrary JSON never makes a 500; good items are kept."""

import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from interactions.models import Interaction
from tests.api_clients.helpers import bearer_client
from tests.interactions.test_sync_api import URL, record

FIELDS = [
    "source", "external_id", "channel", "direction", "occurred_at", "duration_seconds",
    "from_number", "to_number", "summary", "outcome", "category", "rep", "customer",
    "customer_phone", "customer_email", "customer_name",
]  # fmt: skip

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(
        ["phone", "inbound", "2026-03-05T10:00:00Z", "+14155552671", "a@b.c", "\x00", "1001"]
    ),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
# Mostly-valid records with some fields replaced by arbitrary JSON, and plain junk.
mutated_records = st.builds(
    lambda base, changes: {**base, **changes},
    st.builds(lambda n: record(n), st.integers(0, 10**6)),
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=4),
)
items = st.lists(mutated_records | json_values, min_size=1, max_size=6)


@pytest.fixture
def http(db):
    return bearer_client("interactions:write", name="fuzz", creates_unmatched_customers=True)[1]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(junk=items, position=st.integers(0, 6))
def test_arbitrary_items_never_500_and_valid_ones_are_kept(http, junk, position):
    good = record(0, external_id=f"good-{uuid.uuid4()}", customer_phone="(415) 555-2671")
    position = min(position, len(junk))
    batch = junk[:position] + [good] + junk[position:]

    response = http.post(URL, json.dumps({"records": batch}), content_type="application/json")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["index"] for r in results] == list(range(len(batch)))
    assert results[position]["status"] in {"created", "updated"}
    assert Interaction.objects.filter(external_id=good["external_id"]).count() == 1
    for result in results:
        assert result["status"] in {"created", "updated", "unchanged", "error"}
        assert (result["status"] == "error") == bool(result["errors"])
        assert (result["id"] is None) == (result["status"] == "error")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=json_values)
def test_arbitrary_bodies_are_400_not_500(http, body):
    response = http.post(URL, json.dumps(body), content_type="application/json")

    assert response.status_code in {200, 400}
